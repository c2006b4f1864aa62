//! Demo data: organization `demo` ("Demo B.V.") with a Sales team, its Inbound, Outbound and
//! Closers sub-teams, twelve members, six activity types, weekly targets per sales role, six
//! weeks of activity history, a running campaign, and a pipeline with checklists and about
//! 200 deals with stage histories, KPI targets and an alert, a mystery-check round, NL
//! territories, quarterly quotas, a closer plan with an approved and a draft statement.
//! Seeding twice changes nothing.

mod compensation;
mod forecasts;
mod kpis;
mod mystery;
mod pipeline;
mod scoring;

use self::compensation::*;
pub use self::forecasts::*;
use self::kpis::*;
use self::mystery::*;
use self::pipeline::*;
use self::scoring::*;

use chrono::{Duration, NaiveDate, Utc};
use uuid::Uuid;

use crate::auth::password;
use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::core::roles::{Role, SalesRole};
use crate::org::store::{self, NewMember, NewOrganization};
use crate::state::AppState;

/// Slug of the demo organization.
pub const DEMO_SLUG: &str = "demo";
/// Password of every demo member.
pub const DEMO_PASSWORD: &str = "demo";

/// The accounts whose tokens are printed at start.
pub const DEMO_LOGINS: [&str; 4] = ["admin@demo.test", "manager@demo.test", "rep@demo.test", "closer@demo.test"];

/// (name, e-mail, role, sales role, team, months since start)
const MEMBERS: [(&str, &str, Role, SalesRole, &str, i64); 12] = [
    ("Anna de Boer", "admin@demo.test", Role::Admin, SalesRole::Manager, "Sales", 60),
    ("Mark Jansen", "manager@demo.test", Role::Manager, SalesRole::Manager, "Sales", 48),
    ("Rik Visser", "rep@demo.test", Role::Rep, SalesRole::Outbound, "Outbound", 14),
    ("Claire Bakker", "closer@demo.test", Role::Rep, SalesRole::Closer, "Closers", 30),
    ("Iris Meijer", "iris@demo.test", Role::Manager, SalesRole::Manager, "Inbound", 36),
    ("Ingrid de Vries", "ingrid@demo.test", Role::Rep, SalesRole::Inbound, "Inbound", 20),
    ("Ivo Smit", "ivo@demo.test", Role::Rep, SalesRole::Inbound, "Inbound", 2),
    ("Otto Mulder", "otto@demo.test", Role::Rep, SalesRole::Outbound, "Outbound", 9),
    ("Olga de Groot", "olga@demo.test", Role::Rep, SalesRole::Outbound, "Outbound", 25),
    ("Carla Bos", "carla@demo.test", Role::Rep, SalesRole::Closer, "Closers", 40),
    ("Daan Vos", "daan@demo.test", Role::Rep, SalesRole::Closer, "Closers", 5),
    ("Vera Peters", "viewer@demo.test", Role::Viewer, SalesRole::Manager, "Sales", 12),
];

/// Seeds the demo organization unless it exists. Returns its ID.
pub async fn seed(state: &AppState) -> AppResult<OrgId> {
    if let Some(org) = store::find_org_by_slug(&state.db, DEMO_SLUG).await? {
        let org = OrgId(org.id);
        seed_scoring(state, org).await?;
        seed_pipeline(state, org).await?;
        seed_mystery(state, org).await?;
        seed_kpis(state, org).await?;
        seed_compensation(state, org).await?;
        seed_forecasts(state, org).await?;
        return Ok(org);
    }
    let tx = crate::db::begin_write(&state.db).await?;
    let org = store::create_organization(
        &tx,
        NewOrganization {
            name: "Demo B.V.".into(),
            slug: DEMO_SLUG.into(),
            time_zone: "Europe/Amsterdam".into(),
            currency: "EUR".into(),
            fiscal_year_start_month: 1,
            primary_color: "#0B5FFF".into(),
            secondary_color: "#FFB400".into(),
            display_name: Some("Demo Sales".into()),
            logo_url: Some("https://example.com/demo-logo.svg".into()),
            locale: crate::core::locale::Locale::default(),
        },
    )
    .await?;
    let org = OrgId(org.id);
    let sales = store::create_team(org, &tx, "Sales".into(), Some("The whole sales force".into()), None, None).await?;
    let mut teams = vec![("Sales", sales.id)];
    for (name, description) in [
        ("Inbound", "Follows up incoming leads"),
        ("Outbound", "Approaches cold leads"),
        ("Closers", "Runs sales conversations and negotiations"),
    ] {
        let t = store::create_team(org, &tx, name.into(), Some(description.into()), Some(sales.id), None).await?;
        teams.push((name, t.id));
    }
    let team_id = |name: &str| teams.iter().find(|(n, _)| *n == name).map(|(_, id)| *id);
    // One hash for all: demo accounts share a password anyway, and hashing is slow.
    let hash = password::hash(DEMO_PASSWORD.to_owned()).await?;
    let today = Utc::now().date_naive();
    let mut ids: Vec<(&str, Uuid)> = Vec::new();
    for (name, email, role, sales_role, team, months) in MEMBERS {
        let m = store::create_member(
            org,
            &tx,
            NewMember {
                name: name.into(),
                email: email.into(),
                role,
                sales_role,
                team_id: team_id(team),
                start_date: months_before(today, months),
                password_hash: Some(hash.clone()),
                avatar_url: None,
            },
        )
        .await?;
        ids.push((email, m.id));
    }
    let member_id = |email: &str| ids.iter().find(|(e, _)| *e == email).map(|(_, id)| *id);
    for (team, manager) in [("Sales", "manager@demo.test"), ("Inbound", "iris@demo.test")] {
        if let (Some(t), Some(m)) = (team_id(team), member_id(manager)) {
            let patch = store::TeamPatch { manager_id: Some(Some(m)), ..Default::default() };
            store::update_team(org, &tx, t, patch, None).await?;
        }
    }
    tx.commit().await?;
    seed_scoring(state, org).await?;
    seed_pipeline(state, org).await?;
    seed_mystery(state, org).await?;
    seed_kpis(state, org).await?;
    seed_compensation(state, org).await?;
    seed_forecasts(state, org).await?;
    Ok(org)
}

fn months_before(date: NaiveDate, months: i64) -> NaiveDate {
    date - Duration::days(months * 30)
}

/// Access tokens for the demo logins, valid for `ttl`: (e-mail, token).
pub async fn tokens(state: &AppState, org: OrgId, ttl: Duration) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for email in DEMO_LOGINS {
        if let Some(m) =
            store::find_member_by_email(org, &state.db, email).await.map_err(crate::core::error::into_anyhow)?
        {
            out.push((email.to_owned(), state.jwt.issue(m.id, org.0, ttl)?));
        }
    }
    Ok(out)
}
