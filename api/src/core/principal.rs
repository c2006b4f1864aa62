//! Who is calling ([`Principal`], [`Auth`]) and what their role lets them do ([`Permission`]).

use async_graphql::Enum;
use uuid::Uuid;

use super::error::{AppError, AppResult};
use super::ids::OrgId;
use super::roles::Role;

/// An authenticated member, as loaded from the database (or from [`cache::MemberCache`], which
/// is dropped whenever members change).
#[derive(Clone, Debug)]
pub struct Principal {
    /// The member's organization: the tenant every store call of this request is scoped to.
    pub org: OrgId,
    /// The member.
    pub member_id: Uuid,
    /// Current role (from the database, not from the token).
    pub role: Role,
    /// The member's own team.
    pub team_id: Option<Uuid>,
    /// Set when the caller is an API key: it acts with an admin's reach, limited to its scopes
    /// (`member_id` is then the admin who created the key).
    pub api_key: Option<ApiKeyAccess>,
    /// Set when the caller is a consulting firm's staff acting in one of the firm's clients
    /// (`member_id` is then the staff member's ID, which names no member of the organization;
    /// changes are audited as theirs).
    pub firm_staff: Option<FirmStaff>,
}

/// A consulting firm's staff member, as a token names them and the database confirms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirmStaff {
    /// The firm.
    pub firm_id: Uuid,
    /// The staff member.
    pub staff_id: Uuid,
    /// Their role in the firm.
    pub role: FirmRole,
}

/// What a consulting firm's staff member may do across the firm's clients.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FirmRole {
    /// Creates, suspends and resumes clients, manages the firm's staff and their grants, and
    /// acts as an admin in every client of the firm.
    FirmAdmin,
    /// Acts in the clients they are granted, with the role granted there.
    FirmConsultant,
}

impl FirmRole {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            FirmRole::FirmAdmin => "FIRM_ADMIN",
            FirmRole::FirmConsultant => "FIRM_CONSULTANT",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "FIRM_ADMIN" => Some(FirmRole::FirmAdmin),
            "FIRM_CONSULTANT" => Some(FirmRole::FirmConsultant),
            _ => None,
        }
    }
}

/// The key behind a request, and what it may do.
#[derive(Clone, Debug)]
pub struct ApiKeyAccess {
    /// The key.
    pub id: Uuid,
    /// Its scopes, e.g. `forecasts:read`.
    pub scopes: Vec<String>,
}

impl Principal {
    /// FORBIDDEN for an API key without the scope; members pass (their role decides).
    pub fn require_scope(&self, scope: &str) -> AppResult<()> {
        match &self.api_key {
            Some(k) if !k.scopes.iter().any(|s| s == scope) => {
                Err(AppError::forbidden(format!("this API key lacks the '{scope}' scope")))
            }
            _ => Ok(()),
        }
    }
}

/// The authentication state of one request or WebSocket connection.
#[derive(Clone, Debug)]
pub enum Auth {
    /// No credential was sent.
    Anonymous,
    /// A credential was sent and refused; the reason is shown to the client.
    Invalid(String),
    /// A verified, active member (or a firm's staff member acting in one client).
    Member(Principal),
    /// A consulting firm's staff member who has not chosen a client organization: only the
    /// firm's own operations answer.
    Firm(FirmStaff),
    /// A valid credential of an organization its firm has suspended.
    Suspended(String),
}

impl Auth {
    /// The principal, or UNAUTHENTICATED with the reason.
    pub fn principal(&self) -> AppResult<&Principal> {
        match self {
            Auth::Member(p) => Ok(p),
            Auth::Anonymous => Err(AppError::Unauthenticated("send 'Authorization: Bearer <token>'".into())),
            Auth::Invalid(reason) => Err(AppError::Unauthenticated(reason.clone())),
            Auth::Firm(_) => Err(AppError::forbidden(
                "firm staff act in a client organization: name it in the 'X-Scorebord-Organization' header \
                 or sign in with 'organization'",
            )),
            Auth::Suspended(org) => Err(AppError::Suspended(org.clone())),
        }
    }

    /// The firm's staff member behind this request, whether or not they chose a client; else
    /// UNAUTHENTICATED (no or a bad credential) or FORBIDDEN (an organization's member or key).
    pub fn firm_staff(&self) -> AppResult<FirmStaff> {
        match self {
            Auth::Firm(staff) => Ok(*staff),
            Auth::Member(Principal { firm_staff: Some(staff), .. }) => Ok(*staff),
            Auth::Member(_) | Auth::Suspended(_) => {
                Err(AppError::forbidden("only a consulting firm's staff may do this"))
            }
            Auth::Anonymous => Err(AppError::Unauthenticated("send 'Authorization: Bearer <token>'".into())),
            Auth::Invalid(reason) => Err(AppError::Unauthenticated(reason.clone())),
        }
    }
}

/// A capability, as listed on `viewer.permissions` so a front end can show or hide controls.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read the organization, its teams and members.
    OrganizationRead,
    /// Change the organization's settings and branding.
    OrganizationUpdate,
    /// Create, rename and move teams (a manager: inside their subtree).
    TeamsWrite,
    /// Create members.
    MembersCreate,
    /// Edit, deactivate and reactivate members (a manager: inside their subtree).
    MembersWrite,
    /// Change a member's role.
    RolesAssign,
}

impl Permission {
    /// What a role grants, before subtree limits.
    pub fn granted_to(role: Role) -> Vec<Permission> {
        use Permission::*;
        match role {
            Role::Admin => {
                vec![OrganizationRead, OrganizationUpdate, TeamsWrite, MembersCreate, MembersWrite, RolesAssign]
            }
            Role::Manager => vec![OrganizationRead, TeamsWrite, MembersWrite],
            Role::Rep | Role::Viewer => vec![OrganizationRead],
        }
    }
}

impl Principal {
    /// Whether the role grants the permission at all.
    pub fn has(&self, permission: Permission) -> bool {
        Permission::granted_to(self.role).contains(&permission)
    }

    /// FORBIDDEN unless the role grants the permission.
    pub fn require(&self, permission: Permission) -> AppResult<()> {
        if self.has(permission) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!("your role does not allow {permission:?}")))
        }
    }
}

/// Callers and verdicts for the policies' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::Principal;
    use crate::core::error::{AppError, AppResult};
    use crate::core::ids::OrgId;
    use crate::core::roles::Role;
    use uuid::Uuid;

    /// A signed-in member of organization 1 with `role`, without a team or an API key.
    pub fn principal(role: Role) -> Principal {
        Principal {
            org: OrgId(Uuid::from_u128(1)),
            member_id: Uuid::from_u128(2),
            role,
            team_id: None,
            api_key: None,
            firm_staff: None,
        }
    }

    /// Whether a rule let `role` through: true for Ok, false for FORBIDDEN; anything else fails
    /// the test.
    pub fn allowed(result: AppResult<()>, role: Role) -> bool {
        match result {
            Ok(()) => true,
            Err(AppError::Forbidden(_)) => false,
            Err(other) => panic!("{role:?}: {other:?}"),
        }
    }
}
