//! An organization's directory in memory: the organization row, every team and every member,
//! loaded whole and kept current by events (see [`TenantSnapshots`]), so that what screens show
//! beside their numbers — a member's name, their team's name, the team tree a manager reads
//! through — costs no database round trip per request.
//!
//! Every write to these rows publishes `MembersChanged` or `OrganizationChanged` after its
//! commit and before it answers, which moves the organization's membership version: the next
//! read on this instance loads the directory again, so a client reads its own writes. Another
//! instance hears the change through the bus a moment later, and what no event announces (a
//! change made with SQL outside the server) is seen after `MEMBER_CACHE_SECONDS`.
//!
//! A member or team missing here may have been created on another instance a moment ago: the
//! callers fall back to the database for it (`graphql::member_by_id`, `graphql::team_by_id`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use entity::{label_override, member, organization, team};

use super::model::{OrgId, TeamTree};
use super::store;
use crate::core::error::{AppError, AppResult};
use crate::core::locale::Locale;
use crate::events::cache::TenantSnapshots;

/// Organizations whose directory is kept at most (the least recent go first).
pub const ORGANIZATIONS: usize = 10_000;

/// One organization's directory (see the module documentation).
#[derive(Debug)]
pub struct Directory {
    /// The organization.
    pub organization: organization::Model,
    members: HashMap<Uuid, member::Model>,
    teams: HashMap<Uuid, team::Model>,
    /// Direct sub-teams per team, by name.
    sub_teams: HashMap<Uuid, Vec<Uuid>>,
    /// Active members directly in each team, by name.
    team_members: HashMap<Uuid, Vec<Uuid>>,
    /// Every member (active or not) directly in each team.
    members_by_team: HashMap<Uuid, Vec<Uuid>>,
    tree: TeamTree,
    /// The organization's own wording for built-in names, by subject, key and language.
    labels: HashMap<(String, String, Locale), label_override::Model>,
}

impl Directory {
    /// Builds the directory from the organization's rows.
    pub fn new(organization: organization::Model, teams: Vec<team::Model>, members: Vec<member::Model>) -> Self {
        let tree = TeamTree::new(teams.iter().map(|t| (t.id, t.parent_team_id)));
        let mut by_name: Vec<&team::Model> = teams.iter().collect();
        by_name.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        let mut sub_teams: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for t in by_name {
            if let Some(parent) = t.parent_team_id {
                sub_teams.entry(parent).or_default().push(t.id);
            }
        }
        let mut members_by_team: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for m in &members {
            if let Some(team) = m.team_id {
                members_by_team.entry(team).or_default().push(m.id);
            }
        }
        let mut active: Vec<&member::Model> = members.iter().filter(|m| m.active).collect();
        active.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        let mut team_members: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for m in active {
            if let Some(team) = m.team_id {
                team_members.entry(team).or_default().push(m.id);
            }
        }
        Directory {
            organization,
            members: members.into_iter().map(|m| (m.id, m)).collect(),
            teams: teams.into_iter().map(|t| (t.id, t)).collect(),
            sub_teams,
            team_members,
            members_by_team,
            tree,
            labels: HashMap::new(),
        }
    }

    /// The directory with the organization's own wording for built-in names.
    pub fn with_labels(mut self, labels: Vec<label_override::Model>) -> Self {
        self.labels = labels
            .into_iter()
            .filter_map(|l| Some(((l.subject.clone(), l.key.clone(), Locale::parse(&l.locale)?), l)))
            .collect();
        self
    }

    /// The organization's own wording for a built-in name (`subject` `Kpi` or an enum's
    /// GraphQL name; `key` the KPI key or the enum value) in a language, if it set one.
    pub fn label(&self, subject: &str, key: &str, locale: Locale) -> Option<&label_override::Model> {
        if self.labels.is_empty() {
            return None;
        }
        self.labels.get(&(subject.to_owned(), key.to_owned(), locale))
    }

    /// A member (active or not).
    pub fn member(&self, id: Uuid) -> Option<&member::Model> {
        self.members.get(&id)
    }

    /// A team.
    pub fn team(&self, id: Uuid) -> Option<&team::Model> {
        self.teams.get(&id)
    }

    /// The direct sub-teams of a team, by name.
    pub fn sub_teams(&self, id: Uuid) -> impl Iterator<Item = &team::Model> {
        self.sub_teams.get(&id).into_iter().flatten().filter_map(|t| self.teams.get(t))
    }

    /// The active members directly in a team, by name.
    pub fn team_members(&self, id: Uuid) -> impl Iterator<Item = &member::Model> {
        self.team_members.get(&id).into_iter().flatten().filter_map(|m| self.members.get(m))
    }

    /// The team tree.
    pub fn tree(&self) -> &TeamTree {
        &self.tree
    }

    /// The teams a member manages.
    pub fn teams_managed_by(&self, member: Uuid) -> Vec<Uuid> {
        self.teams.values().filter(|t| t.manager_id == Some(member)).map(|t| t.id).collect()
    }

    /// Every member (active or not) in one of these teams.
    pub fn members_in<'a>(&'a self, teams: &'a HashSet<Uuid>) -> impl Iterator<Item = &'a member::Model> {
        teams.iter().filter_map(|t| self.members_by_team.get(t)).flatten().filter_map(|m| self.members.get(m))
    }
}

/// The kept directories of every organization.
pub type Directories = TenantSnapshots<Directory>;

/// The language a caller is answered in: a member's own, else their organization's (firm
/// staff and API keys take the organization's), else `fallback` (the `Accept-Language` one
/// of the signed-out), else English.
pub async fn locale_of(
    dirs: &Directories,
    auth: &crate::core::principal::Auth,
    fallback: Option<Locale>,
    db: &impl ConnectionTrait,
) -> AppResult<Locale> {
    let Ok(p) = auth.principal() else { return Ok(fallback.unwrap_or_default()) };
    let dir = directory(dirs, p.org, db).await?;
    let own = dir.member(p.member_id).and_then(|m| m.locale.as_deref()).and_then(Locale::parse);
    Ok(own.or_else(|| Locale::parse(&dir.organization.locale)).or(fallback).unwrap_or_default())
}

/// The organization's directory: kept, or loaded now (four queries).
pub async fn directory(dirs: &Directories, org: OrgId, db: &impl ConnectionTrait) -> AppResult<Arc<Directory>> {
    dirs.get(org, || load(org, db)).await
}

async fn load(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Directory> {
    let organization = store::organization(org, db).await?.ok_or(AppError::NotFound("organization"))?;
    let teams = store::all_teams(org, db).await?;
    let members = store::all_members(org, db, &store::MemberFilter::default()).await?;
    let labels = store::label_overrides(org, db).await?;
    Ok(Directory::new(organization, teams, members).with_labels(labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Utc};

    fn org() -> organization::Model {
        let now = Utc::now();
        organization::Model {
            id: Uuid::from_u128(1),
            name: "Org".into(),
            slug: "org".into(),
            display_name: None,
            logo_url: None,
            primary_color: "#000000".into(),
            secondary_color: "#000000".into(),
            time_zone: "Europe/Amsterdam".into(),
            currency: "EUR".into(),
            fiscal_year_start_month: 1,
            activity_open_window_days: 35,
            firm_id: None,
            status: "ACTIVE".into(),
            deletion_due_at: None,
            locale: "en".into(),
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    fn team(id: u128, name: &str, parent: Option<u128>) -> team::Model {
        let now = Utc::now();
        team::Model {
            id: Uuid::from_u128(id),
            organization_id: Uuid::from_u128(1),
            parent_team_id: parent.map(Uuid::from_u128),
            name: name.into(),
            description: None,
            manager_id: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    fn member(id: u128, name: &str, team: Option<u128>, active: bool) -> member::Model {
        let now = Utc::now();
        member::Model {
            id: Uuid::from_u128(id),
            organization_id: Uuid::from_u128(1),
            team_id: team.map(Uuid::from_u128),
            name: name.into(),
            email: format!("{id}@example.test"),
            password_hash: None,
            role: "REP".into(),
            sales_role: "INBOUND".into(),
            start_date: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            active,
            deactivated_at: None,
            ramp_percents: None,
            avatar_url: None,
            external_subject: None,
            locale: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn lists_come_by_name_and_leave_out_the_inactive() {
        let d = Directory::new(
            org(),
            vec![team(10, "Sales", None), team(12, "South", Some(10)), team(11, "North", Some(10))],
            vec![
                member(20, "Zoë", Some(11), true),
                member(21, "Anna", Some(11), true),
                member(22, "Bram", Some(11), false),
                member(23, "Cas", None, true),
            ],
        );
        let names = |it: Vec<&str>| it.into_iter().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            d.sub_teams(Uuid::from_u128(10)).map(|t| t.name.clone()).collect::<Vec<_>>(),
            names(vec!["North", "South"])
        );
        assert_eq!(
            d.team_members(Uuid::from_u128(11)).map(|m| m.name.clone()).collect::<Vec<_>>(),
            names(vec!["Anna", "Zoë"])
        );
        assert_eq!(d.team_members(Uuid::from_u128(12)).count(), 0);
        assert_eq!(d.sub_teams(Uuid::from_u128(99)).count(), 0);
        assert!(d.member(Uuid::from_u128(22)).is_some_and(|m| !m.active), "inactive members are found by ID");
        assert_eq!(d.team(Uuid::from_u128(12)).map(|t| t.name.as_str()), Some("South"));
        assert!(d.tree().subtree([Uuid::from_u128(10)]).contains(&Uuid::from_u128(11)));
        assert!(d.member(Uuid::from_u128(99)).is_none() && d.team(Uuid::from_u128(99)).is_none());
    }

    #[test]
    fn members_in_teams_are_every_member_of_exactly_those_teams() {
        let d = Directory::new(
            org(),
            vec![team(10, "Sales", None), team(11, "North", Some(10)), team(12, "South", Some(10))],
            vec![
                member(20, "Zoë", Some(11), true),
                member(21, "Anna", Some(11), false),
                member(22, "Bram", Some(12), true),
                member(23, "Cas", None, true),
                member(24, "Dirk", Some(10), true),
            ],
        );
        let ids = |teams: &[u128]| {
            let teams: HashSet<Uuid> = teams.iter().copied().map(Uuid::from_u128).collect();
            let mut found: Vec<u128> = d.members_in(&teams).map(|m| m.id.as_u128()).collect();
            found.sort_unstable();
            found
        };
        assert_eq!(ids(&[11]), vec![20, 21], "inactive members too");
        assert_eq!(ids(&[11, 12]), vec![20, 21, 22]);
        assert_eq!(ids(&[10]), vec![24], "a team's own members, not its sub-teams'");
        assert_eq!(ids(&[10, 11, 12]), vec![20, 21, 22, 24], "no one without a team");
        assert_eq!(ids(&[]), Vec::<u128>::new());
        assert_eq!(ids(&[99]), Vec::<u128>::new(), "an unknown team has no members");
    }
}
