//! What a principal may reach: the teams it acts on ([`Reach`]) and the records it may read
//! ([`ReadScope`]), read from the team tree.

use std::collections::HashSet;

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::core::error::{AppError, AppResult};
use crate::core::principal::Principal;
use crate::core::roles::Role;
use crate::org::directory::Directory;
use crate::org::model::TeamTree;

impl Principal {
    /// The teams this principal manages: everything for an admin (`None`), the subtrees of
    /// the teams they manage (and their own team) for a manager, nothing for others.
    pub async fn reach(&self, db: &impl ConnectionTrait) -> AppResult<Reach> {
        match self.role {
            Role::Admin => Ok(Reach::All),
            Role::Manager => {
                let tree = crate::org::store::team_tree(self.org, db).await?;
                let managed = crate::org::store::teams_managed_by(self.org, db, self.member_id).await?;
                Ok(self.manager_reach(&tree, managed))
            }
            Role::Rep | Role::Viewer => Ok(Reach::Teams(HashSet::new())),
        }
    }
}

/// The set of teams a principal may act on.
#[derive(Debug, Clone)]
pub enum Reach {
    /// Every team of the organization (admins).
    All,
    /// These teams only.
    Teams(HashSet<Uuid>),
}

impl Reach {
    /// Whether the team is inside the reach. A member without a team is reachable only by admins.
    pub fn covers(&self, team: Option<Uuid>) -> bool {
        match (self, team) {
            (Reach::All, _) => true,
            (Reach::Teams(set), Some(t)) => set.contains(&t),
            (Reach::Teams(_), None) => false,
        }
    }

    /// FORBIDDEN unless the team is covered.
    pub fn require(&self, team: Option<Uuid>, what: &str) -> AppResult<()> {
        if self.covers(team) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!("{what} is outside the teams you manage")))
        }
    }
}

/// What a principal may read of other members' results (scores, activities, KPIs) and of
/// teams' boards (leaderboards, team scores, scoreboards).
#[derive(Debug, Clone)]
pub enum ReadScope {
    /// Everything in the organization (admins, viewers).
    All,
    /// Boards of these teams (their own team, the teams above it and, for managers, the teams
    /// they manage); results of members of `member_teams` (and their own).
    Limited {
        /// Teams whose boards may be read.
        board_teams: HashSet<Uuid>,
        /// Teams whose members' results may be read.
        member_teams: HashSet<Uuid>,
    },
}

impl ReadScope {
    /// FORBIDDEN unless the member's results may be read.
    pub fn member(&self, p: &Principal, m: &entity::member::Model) -> AppResult<()> {
        match self {
            ReadScope::All => Ok(()),
            _ if m.id == p.member_id => Ok(()),
            ReadScope::Limited { member_teams, .. } if m.team_id.is_some_and(|t| member_teams.contains(&t)) => Ok(()),
            _ => Err(AppError::forbidden("you may not read this member's results")),
        }
    }

    /// FORBIDDEN unless the team's board may be read (the whole organization's always may).
    pub fn board(&self, team: Option<Uuid>) -> AppResult<()> {
        match (self, team) {
            (ReadScope::All, _) | (_, None) => Ok(()),
            (ReadScope::Limited { board_teams, .. }, Some(t)) if board_teams.contains(&t) => Ok(()),
            _ => Err(AppError::forbidden("you may not read this team's results")),
        }
    }
}

impl Principal {
    /// A manager's reach: the subtrees of the teams they manage and of their own team.
    fn manager_reach(&self, tree: &TeamTree, mut managed: Vec<Uuid>) -> Reach {
        managed.extend(self.team_id);
        Reach::Teams(tree.subtree(managed))
    }

    /// [`Principal::reach`] from the organization's directory in memory: for reads (a write
    /// checks the reach inside its transaction).
    pub fn reach_in(&self, dir: &Directory) -> Reach {
        match self.role {
            Role::Admin => Reach::All,
            Role::Manager => self.manager_reach(dir.tree(), dir.teams_managed_by(self.member_id)),
            Role::Rep | Role::Viewer => Reach::Teams(HashSet::new()),
        }
    }

    /// [`Principal::read_scope`] from the organization's directory in memory.
    pub fn read_scope_in(&self, dir: &Directory) -> ReadScope {
        match self.role {
            Role::Admin | Role::Viewer => ReadScope::All,
            Role::Manager | Role::Rep => self.limited_scope(dir.tree(), self.reach_in(dir)),
        }
    }

    /// [`Principal::visible_members`] from the organization's directory in memory.
    pub fn visible_members_in(&self, dir: &Directory) -> Option<Vec<Uuid>> {
        match (self.role, self.reach_in(dir)) {
            (Role::Admin | Role::Viewer, _) | (_, Reach::All) => None,
            (Role::Manager, Reach::Teams(teams)) => {
                Some(dir.members_in(&teams).map(|m| m.id).chain(std::iter::once(self.member_id)).collect())
            }
            _ => Some(vec![self.member_id]),
        }
    }

    /// A manager's or rep's read scope: the boards of their team's ancestors and of what they
    /// reach (a rep: their own team), the members of what they reach.
    fn limited_scope(&self, tree: &TeamTree, reach: Reach) -> ReadScope {
        let ancestors: HashSet<Uuid> =
            self.team_id.map(|t| tree.ancestors(t)).unwrap_or_default().into_iter().collect();
        let member_teams = match reach {
            Reach::Teams(t) if self.role == Role::Manager => t,
            _ => self.team_id.into_iter().collect(),
        };
        let board_teams = ancestors.union(&member_teams).copied().collect();
        ReadScope::Limited { board_teams, member_teams }
    }

    /// What this principal may read of others' results and teams' boards.
    pub async fn read_scope(&self, db: &impl ConnectionTrait) -> AppResult<ReadScope> {
        match self.role {
            Role::Admin | Role::Viewer => Ok(ReadScope::All),
            Role::Manager | Role::Rep => {
                let tree = crate::org::store::team_tree(self.org, db).await?;
                Ok(self.limited_scope(&tree, self.reach(db).await?))
            }
        }
    }
}

impl Principal {
    /// The members whose deals and alerts this principal reads: `None` for everyone (admins,
    /// viewers), the members of the teams a manager reaches plus themself, or only themself.
    pub async fn visible_members(&self, db: &impl ConnectionTrait) -> AppResult<Option<Vec<Uuid>>> {
        Ok(match (self.role, self.reach(db).await?) {
            (Role::Admin | Role::Viewer, _) | (_, Reach::All) => None,
            (Role::Manager, Reach::Teams(teams)) => Some(
                crate::org::store::all_members(
                    self.org,
                    db,
                    &crate::org::store::MemberFilter {
                        team_ids: Some(teams.into_iter().collect()),
                        ..Default::default()
                    },
                )
                .await?
                .into_iter()
                .map(|m| m.id)
                .chain(std::iter::once(self.member_id))
                .collect(),
            ),
            _ => Some(vec![self.member_id]),
        })
    }
}
