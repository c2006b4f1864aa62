//! The data set: one organization with 1,000 reps in 50 regional teams (each split into two
//! sub-teams of 10) and a manager per region, three activity types feeding the KPIs, a weekly
//! points target for the reps' sales role, and activities over the last year with a working
//! week's rhythm, written straight through the entities (bulk inserts), with the day totals the
//! store keeps beside them. What the screens read beyond that (deals, campaigns, forecasts) is
//! created through the API by `seed_api`.

use std::collections::HashMap;

use anyhow::Context as _;
use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use futures_util::{StreamExt, TryStreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, Statement};
use uuid::Uuid;

use scorebord::core::ids::OrgId;
use scorebord::core::roles::{Role, SalesRole};
use scorebord::org::store::{self, NewMember, NewOrganization};
use scorebord::scoring::model::{ActivityCategory, ActivityUnit};
use scorebord::scoring::store as scoring_store;

/// Sub-teams (leaderboard scopes of the live scenario).
pub const SUB_TEAMS: usize = 100;
/// Members per sub-team.
pub const PER_TEAM: usize = 10;
/// The reps' weekly points target: a full week of an average rep at a million activities is
/// about 50 points (2.7 points an activity, 1,000 a rep a year), so attainment spreads
/// around 100 % there and lower on smaller data sets.
const WEEKLY_TARGET_POINTS: i64 = 40;
pub const TZ: chrono_tz::Tz = chrono_tz::Europe::Amsterdam;

/// What the load generator needs to know about the seeded organization.
pub struct Seeded {
    pub org: OrgId,
    pub admin: Uuid,
    /// Sub-teams, each with its members (in creation order).
    pub teams: Vec<(Uuid, Vec<Uuid>)>,
    /// Regional teams (the parents of sub-teams `2 r` and `2 r + 1`) and their managers.
    pub regions: Vec<(Uuid, Uuid)>,
    /// (activity type id, points in hundredths, share of activities in percent)
    pub types: Vec<(Uuid, i64, u32)>,
    rates: Vec<f64>,
    day_totals: HashMap<(usize, usize, NaiveDate), (i64, i64)>,
    rng: StdRng,
    pub activities: u64,
}

impl Seeded {
    /// Every member (sub-team order).
    pub fn members(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.teams.iter().flat_map(|(_, m)| m.iter().copied())
    }
}

/// Creates the organization, teams, members and activity types.
pub async fn organization(db: &DatabaseConnection) -> anyhow::Result<Seeded> {
    let e = scorebord::core::error::into_anyhow;
    let org = store::create_organization(
        db,
        NewOrganization {
            name: "Bench B.V.".into(),
            slug: "bench".into(),
            time_zone: TZ.name().into(),
            currency: "EUR".into(),
            fiscal_year_start_month: 1,
            primary_color: "#1F2937".into(),
            secondary_color: "#10B981".into(),
            display_name: None,
            logo_url: None,
            locale: scorebord::core::locale::Locale::default(),
        },
    )
    .await
    .map_err(e)?;
    let id = OrgId(org.id);
    let start = Utc::now().date_naive() - Duration::days(400);
    let new_member = |name: String, role: Role, team: Option<Uuid>| NewMember {
        email: format!("{}@bench.test", name.to_lowercase().replace(' ', ".")),
        name,
        role,
        sales_role: if role == Role::Rep { SalesRole::Outbound } else { SalesRole::Manager },
        team_id: team,
        start_date: start,
        password_hash: None,
        avatar_url: None,
    };
    let admin = store::create_member(id, db, new_member("Bench Admin".into(), Role::Admin, None)).await.map_err(e)?;
    let mut teams = Vec::new();
    let mut regions = Vec::new();
    for t in 0..SUB_TEAMS / 2 {
        // The manager manages the region (its `manager_id`) without being one of its members:
        // the region's scoreboard and forecast show its 20 reps, as the screens expect.
        let manager = store::create_member(id, db, new_member(format!("Manager {t:02}"), Role::Manager, None))
            .await
            .map_err(e)?;
        let parent =
            store::create_team(id, db, format!("Region {t:02}"), None, None, Some(manager.id)).await.map_err(e)?;
        regions.push((parent.id, manager.id));
        for half in ["North", "South"] {
            let team = store::create_team(id, db, format!("Region {t:02} {half}"), None, Some(parent.id), None)
                .await
                .map_err(e)?;
            let mut members = Vec::new();
            for m in 0..PER_TEAM {
                let name = format!("Rep {t:02} {half} {m}");
                members.push(
                    store::create_member(id, db, new_member(name, Role::Rep, Some(team.id))).await.map_err(e)?.id,
                );
            }
            teams.push((team.id, members));
        }
    }
    let mut types = Vec::new();
    // Each type feeds a built-in KPI (call-to-appointment, quote-to-customer), so the
    // scoreboard's cells are computed from real numbers.
    for (name, points, share, kpi_key) in
        [("Call", 100, 70, "calls"), ("Meeting", 500, 20, "appointments"), ("Quote sent", 1000, 10, "quotes_sent")]
    {
        let t = scoring_store::create_activity_type(
            id,
            db,
            scoring_store::NewActivityType {
                name: name.into(),
                description: None,
                category: ActivityCategory::Action,
                unit: ActivityUnit::Count,
                points_cents: points,
                step_percent: None,
                kpi_key: Some(kpi_key.into()),
                // The benchmark's reps log far more than a person could in a day: the ceiling
                // stays checked (its query runs) but never refuses.
                self_max_quantity_per_activity: None,
                self_max_quantity_per_day: Some(scorebord::scoring::model::MAX_SELF_QUANTITY_PER_DAY),
            },
        )
        .await
        .map_err(e)?;
        types.push((t.id, points, share));
    }
    // The reps' weekly target (a sales role's default), so boards and scores show attainment.
    scoring_store::insert_target(
        id,
        db,
        scoring_store::NewTarget {
            sales_role: Some(SalesRole::Outbound),
            member_id: None,
            weekly_points_cents: WEEKLY_TARGET_POINTS * 100,
            effective_from: start,
            reason: "Bench: a realistic weekly target".into(),
            set_by: admin.id,
        },
    )
    .await
    .map_err(e)?;
    let mut rng = StdRng::seed_from_u64(7);
    // Some reps are busier than others: a rate between 0.4 and 1.6.
    let rates = (0..SUB_TEAMS * PER_TEAM).map(|_| rng.random_range(0.4..1.6)).collect();
    Ok(Seeded {
        org: id,
        admin: admin.id,
        teams,
        regions,
        types,
        rates,
        day_totals: HashMap::new(),
        rng,
        activities: 0,
    })
}

/// A moment in the last year with a sales floor's rhythm: weekdays, office hours with a
/// morning and an afternoon peak, a quiet weekend; never in the future.
fn moment(rng: &mut StdRng, today: NaiveDate) -> (NaiveDate, chrono::DateTime<Utc>) {
    loop {
        let day = today - Duration::days(rng.random_range(0..365));
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        if weekend && rng.random_range(0..100) >= 5 {
            continue;
        }
        let hour = if rng.random_bool(0.5) { rng.random_range(9..12) } else { rng.random_range(8..18) };
        let minute = rng.random_range(0..60);
        let Some(local) = day.and_hms_opt(hour, minute, rng.random_range(0..60)) else { continue };
        let Some(at) = TZ.from_local_datetime(&local).earliest() else { continue };
        let at = at.with_timezone(&Utc);
        if at < Utc::now() - Duration::minutes(1) {
            return (day, at);
        }
    }
}

/// Adds `count` activities (bulk inserts, `parallel` at once) and rewrites the day totals.
pub async fn activities(db: &DatabaseConnection, s: &mut Seeded, count: u64) -> anyhow::Result<()> {
    let members: Vec<Uuid> = s.members().collect();
    let total_rate: f64 = s.rates.iter().sum();
    let cumulative: Vec<f64> = s
        .rates
        .iter()
        .scan(0.0, |acc, r| {
            *acc += r / total_rate;
            Some(*acc)
        })
        .collect();
    let today = scorebord::core::period::local_date(Utc::now(), TZ);
    let chunk = 1_400usize; // 22 columns: under SQLite's 32,766 bound parameters
    let mut batches = Vec::new();
    let mut rows = Vec::with_capacity(chunk);
    for _ in 0..count {
        let x: f64 = s.rng.random();
        let m = cumulative.partition_point(|c| *c < x).min(members.len() - 1);
        let roll = s.rng.random_range(0..100);
        let t = if roll < s.types[0].2 {
            0
        } else if roll < s.types[0].2 + s.types[1].2 {
            1
        } else {
            2
        };
        let (day, at) = moment(&mut s.rng, today);
        let points = s.types[t].1;
        let e = s.day_totals.entry((m, t, day)).or_default();
        e.0 += points;
        e.1 += 1;
        rows.push(
            entity::activity::Model {
                id: Uuid::now_v7(),
                organization_id: s.org.0,
                member_id: members[m],
                activity_type_id: s.types[t].0,
                quantity: Some(1),
                progress_percent: None,
                work_item_key: None,
                base_points_cents: points,
                multiplier_cents: 100,
                points_cents: points,
                campaign_id: None,
                occurred_at: at,
                local_date: day,
                deal_id: None,
                note: None,
                source: "SELF".into(),
                logged_by: members[m],
                idempotency_key: None,
                voided_at: None,
                voided_by: None,
                void_reason: None,
                created_at: at,
            }
            .into_active_model(),
        );
        if rows.len() == chunk {
            batches.push(std::mem::replace(&mut rows, Vec::with_capacity(chunk)));
        }
    }
    if !rows.is_empty() {
        batches.push(rows);
    }
    futures_util::stream::iter(batches)
        .map(|b| async move { entity::activity::Entity::insert_many(b).exec(db).await.map(|_| ()) })
        .buffer_unordered(4)
        .try_collect::<Vec<()>>()
        .await
        .context("inserting activities")?;
    s.activities += count;

    // The day totals, rewritten whole from what was generated so far.
    let backend = db.get_database_backend();
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        "DELETE FROM activity_day_totals WHERE organization_id = $1",
        [s.org.0.into()],
    ))
    .await?;
    let totals: Vec<_> = s
        .day_totals
        .iter()
        .map(|((m, t, day), (points, n))| {
            entity::activity_day_total::Model {
                id: Uuid::now_v7(),
                organization_id: s.org.0,
                member_id: members[*m],
                activity_type_id: s.types[*t].0,
                day: *day,
                points_cents: *points,
                activity_count: *n,
            }
            .into_active_model()
        })
        .collect();
    let mut batches = Vec::new();
    let mut it = totals.into_iter().peekable();
    while it.peek().is_some() {
        batches.push(it.by_ref().take(4_000).collect::<Vec<_>>());
    }
    futures_util::stream::iter(batches)
        .map(|b| async move { entity::activity_day_total::Entity::insert_many(b).exec(db).await.map(|_| ()) })
        .buffer_unordered(4)
        .try_collect::<Vec<()>>()
        .await
        .context("inserting day totals")?;
    if backend == sea_orm::DbBackend::Postgres {
        // Settle the bulk load now, so autovacuum does not compete with the measurements.
        db.execute_unprepared("VACUUM ANALYZE activities, activity_day_totals").await?;
    }
    Ok(())
}
