//! The product's screens as their front ends ask them, written from `schema.graphql`.
//!
//! Each screen is one GraphQL document: the fields the screen cannot do without (always asked)
//! and optional ones, of which every run draws its own subset from a seed, so the bodies differ
//! from run to run and no answer can be special-cased by the server. At start the harness
//! introspects the server (`__type(name:)`) and leaves out the optional fields it does not have
//! (printed), so a screen may name a field before it lands; a missing required field stops the
//! run. Every answer is checked against the selection it asked: each field present, non-null
//! where the schema says so, plus the screen's own counts.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{Context as _, bail};
use serde::Serialize;
use serde_json::{Value, json};

/// Optional fields of the screens that the server is about to get. Until it has them,
/// introspection drops them like any other optional field it lacks; they are named here so
/// the drop reads as expected rather than as a mistake in a screen.
pub const PENDING_FIELDS: [(&str, &str); 2] = [("Member", "avatarUrl"), ("LeaderboardEntry", "streakWeeks")];

/// One selected field.
#[derive(Clone, Debug)]
pub struct Field {
    name: &'static str,
    args: String,
    optional: bool,
    /// From introspection: the schema promises a value.
    non_null: bool,
    sub: Option<Sel>,
}

/// A selection set on a named type.
#[derive(Clone, Debug)]
pub struct Sel {
    ty: &'static str,
    fields: Vec<Field>,
}

fn req(name: &'static str) -> Field {
    Field { name, args: String::new(), optional: false, non_null: false, sub: None }
}

fn opt(name: &'static str) -> Field {
    Field { optional: true, ..req(name) }
}

impl Field {
    fn args(mut self, args: impl Into<String>) -> Field {
        self.args = args.into();
        self
    }
    fn of(mut self, ty: &'static str, fields: Vec<Field>) -> Field {
        self.sub = Some(Sel { ty, fields });
        self
    }
}

/// What a screen must find in an answer beyond its selection's shape.
type Extra = fn(&Value) -> Result<(), String>;

/// One screen: its document and the fields this run asks.
pub struct Screen {
    pub key: &'static str,
    pub name: &'static str,
    operation: &'static str,
    root: Sel,
    extra: Extra,
    /// The document sent.
    pub query: String,
    /// Optional fields drawn in (`Type.field`).
    pub chosen: BTreeSet<String>,
    /// Optional fields drawn out.
    pub left_out: BTreeSet<String>,
    /// Optional fields the server does not have.
    pub dropped: BTreeSet<String>,
}

/// A screen's choices, for the report.
#[derive(Serialize)]
pub struct Drawn<'a> {
    pub name: &'a str,
    pub query: &'a str,
    pub chosen: &'a BTreeSet<String>,
    pub left_out: &'a BTreeSet<String>,
    pub dropped: &'a BTreeSet<String>,
}

impl Screen {
    fn new(key: &'static str, name: &'static str, operation: &'static str, root: Vec<Field>, extra: Extra) -> Screen {
        Screen {
            key,
            name,
            operation,
            root: Sel { ty: "Query", fields: root },
            extra,
            query: String::new(),
            chosen: BTreeSet::new(),
            left_out: BTreeSet::new(),
            dropped: BTreeSet::new(),
        }
    }

    /// Leaves out what the server lacks, draws the optional fields with `seed`, renders.
    pub fn prepare(&mut self, schema: &Schema, seed: u64) -> anyhow::Result<()> {
        prune(&mut self.root, schema, &mut self.dropped).with_context(|| format!("screen {}", self.name))?;
        draw(&mut self.root, seed, self.key, &mut self.chosen, &mut self.left_out);
        self.query = format!("{} {{ {} }}", self.operation, render(&self.root));
        Ok(())
    }

    /// Whether `data` answers the selection (and the screen's own expectations).
    pub fn check(&self, data: &Value) -> Result<(), String> {
        conforms(&self.root, data)?;
        (self.extra)(data)
    }

    /// The request body with `variables`.
    pub fn body(&self, variables: Value) -> Value {
        json!({"query": self.query, "variables": variables})
    }

    pub fn drawn(&self) -> Drawn<'_> {
        Drawn {
            name: self.name,
            query: &self.query,
            chosen: &self.chosen,
            left_out: &self.left_out,
            dropped: &self.dropped,
        }
    }

    fn types(&self, into: &mut BTreeSet<&'static str>) {
        fn walk(s: &Sel, into: &mut BTreeSet<&'static str>) {
            into.insert(s.ty);
            for f in &s.fields {
                if let Some(sub) = &f.sub {
                    walk(sub, into);
                }
            }
        }
        walk(&self.root, into);
    }
}

/// What introspection said about a field.
struct FieldInfo {
    non_null: bool,
    /// The named type under NON_NULL and LIST.
    named: String,
}

/// The fields of the types the screens select from, as the server has them.
pub struct Schema(HashMap<String, HashMap<String, FieldInfo>>);

/// Asks the server for every type the screens select from, in one request.
pub async fn introspect(
    http: &reqwest::Client,
    addr: &str,
    token: &str,
    screens: &[&Screen],
) -> anyhow::Result<Schema> {
    let mut types = BTreeSet::new();
    for s in screens {
        s.types(&mut types);
    }
    let types: Vec<&str> = types.into_iter().collect();
    let wrapped = "type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";
    let query = format!(
        "query {{ {} }}",
        types
            .iter()
            .enumerate()
            .map(|(i, t)| format!(
                "t{i}: __type(name: \"{t}\") {{ name fields(includeDeprecated: true) {{ name {wrapped} }} }}"
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let data = crate::load::graphql(http, addr, token, &json!({"query": query})).await.context("introspection")?;
    let mut schema = HashMap::new();
    for (i, t) in types.iter().enumerate() {
        let fields = data[format!("t{i}")]["fields"]
            .as_array()
            .with_context(|| format!("the server has no type {t} (or it has no fields)"))?;
        let mut map = HashMap::new();
        for f in fields {
            let mut ty = &f["type"];
            let non_null = ty["kind"] == "NON_NULL";
            while ty["kind"] == "NON_NULL" || ty["kind"] == "LIST" {
                ty = &ty["ofType"];
            }
            let name = f["name"].as_str().unwrap_or_default().to_owned();
            map.insert(name, FieldInfo { non_null, named: ty["name"].as_str().unwrap_or_default().to_owned() });
        }
        schema.insert((*t).to_owned(), map);
    }
    Ok(Schema(schema))
}

fn prune(sel: &mut Sel, schema: &Schema, dropped: &mut BTreeSet<String>) -> anyhow::Result<()> {
    let ty = sel.ty;
    let Some(known) = schema.0.get(ty) else { bail!("the server has no type {ty}") };
    let mut kept = Vec::new();
    for mut f in std::mem::take(&mut sel.fields) {
        let Some(info) = known.get(f.name) else {
            if f.optional {
                dropped.insert(format!("{ty}.{}", f.name));
                continue;
            }
            bail!("the server has no {ty}.{}, which the screen needs", f.name);
        };
        f.non_null = info.non_null;
        if let Some(sub) = &mut f.sub {
            if sub.ty != info.named {
                bail!("{ty}.{} is a {}, the screen selects it as a {}", f.name, info.named, sub.ty);
            }
            prune(sub, schema, dropped)?;
        }
        kept.push(f);
    }
    sel.fields = kept;
    Ok(())
}

/// A coin toss per (seed, screen, `Type.field`): the same field of the same type falls the
/// same way everywhere in a screen (every row of the forecast tree asks the same columns).
fn toss(seed: u64, screen: &str, label: &str) -> bool {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in screen.bytes().chain([b'/']).chain(label.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    // splitmix64 of the mix, so neighbouring seeds draw unrelated subsets.
    let mut z = h ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) & 1 == 1
}

fn draw(sel: &mut Sel, seed: u64, screen: &str, chosen: &mut BTreeSet<String>, left_out: &mut BTreeSet<String>) {
    let ty = sel.ty;
    sel.fields.retain(|f| {
        if !f.optional {
            return true;
        }
        let label = format!("{ty}.{}", f.name);
        let keep = toss(seed, screen, &label);
        if keep {
            chosen.insert(label);
        } else {
            left_out.insert(label);
        }
        keep
    });
    for f in &mut sel.fields {
        if let Some(sub) = &mut f.sub {
            draw(sub, seed, screen, chosen, left_out);
        }
    }
}

fn render(sel: &Sel) -> String {
    sel.fields
        .iter()
        .map(|f| match &f.sub {
            Some(sub) => format!("{}{} {{ {} }}", f.name, f.args, render(sub)),
            None => format!("{}{}", f.name, f.args),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn conforms(sel: &Sel, v: &Value) -> Result<(), String> {
    let Some(object) = v.as_object() else { return Err(format!("{}: not an object: {v}", sel.ty)) };
    for f in &sel.fields {
        let Some(x) = object.get(f.name) else { return Err(format!("{}.{} missing", sel.ty, f.name)) };
        if x.is_null() {
            if f.non_null {
                return Err(format!("{}.{} is null", sel.ty, f.name));
            }
            continue;
        }
        if let Some(sub) = &f.sub {
            match x {
                Value::Array(items) => {
                    for item in items.iter().filter(|i| !i.is_null()) {
                        conforms(sub, item)?;
                    }
                }
                _ => conforms(sub, x)?,
            }
        }
    }
    Ok(())
}

fn count(v: &Value, what: &str, want: impl Fn(usize) -> bool) -> Result<(), String> {
    match v.as_array() {
        Some(a) if want(a.len()) => Ok(()),
        Some(a) => Err(format!("{what}: {} items", a.len())),
        None => Err(format!("{what}: not a list")),
    }
}

fn money() -> Vec<Field> {
    vec![req("amount"), opt("currency")]
}

/// Screen 1, the sales room's board: the organization's top 50 this week (admin). The last
/// quarter's board sends the same document with another period.
pub fn board() -> Screen {
    Screen::new(
        "board",
        "sales-room board (week, top 50)",
        "query SalesRoomBoard($p: PeriodInput!)",
        vec![req("leaderboard").args("(input: {period: $p, first: 50})").of(
            "Leaderboard",
            vec![
                opt("totalEntries"),
                opt("period").of("PeriodInfo", vec![req("startDate"), req("endDate")]),
                opt("updatedAt"),
                req("entries").of(
                    "LeaderboardEntry",
                    vec![
                        req("rank"),
                        req("points"),
                        opt("attainmentPercent"),
                        opt("value"),
                        opt("streakWeeks"),
                        req("member").of(
                            "Member",
                            vec![req("id"), req("name"), opt("avatarUrl"), opt("team").of("Team", vec![req("name")])],
                        ),
                    ],
                ),
            ],
        )],
        |d| count(&d["leaderboard"]["entries"], "leaderboard.entries", |n| n == 50),
    )
}

/// Screen 2, a rep's phone home (the rep's own token): who they are, this week's score against the
/// target, their rank (the schema has no way to ask a member's own rank: the organization's
/// top 50, found there or not), and the running campaigns.
pub fn phone_home() -> Screen {
    Screen::new(
        "home",
        "rep's phone home",
        "query PhoneHome",
        vec![
            req("viewer").of(
                "Viewer",
                vec![
                    req("member").of("Member", vec![req("id"), req("name"), req("team").of("Team", vec![req("name")])]),
                ],
            ),
            req("score").args("(period: {grain: WEEK})").of(
                "Score",
                vec![
                    req("points"),
                    req("target"),
                    opt("attainmentPercent"),
                    opt("pacingPercent"),
                    opt("streakWeeks"),
                    opt("activityCount"),
                    opt("byActivityType").of(
                        "ScoreByType",
                        vec![req("activityType").of("ActivityType", vec![req("name")]), req("points"), req("count")],
                    ),
                ],
            ),
            req("leaderboard").args("(input: {period: {grain: WEEK}, first: 50})").of(
                "Leaderboard",
                vec![
                    opt("totalEntries"),
                    req("entries")
                        .of("LeaderboardEntry", vec![req("rank"), req("member").of("Member", vec![req("id")])]),
                ],
            ),
            req("campaigns").args("(status: RUNNING)").of(
                "CampaignConnection",
                vec![req("nodes").of(
                    "Campaign",
                    vec![
                        req("id"),
                        req("name"),
                        req("endsAt"),
                        opt("multiplier"),
                        opt("theme"),
                        opt("reward"),
                        opt("startsAt"),
                    ],
                )],
            ),
        ],
        |d| {
            count(&d["leaderboard"]["entries"], "leaderboard.entries", |n| n == 50)?;
            count(&d["campaigns"]["nodes"], "campaigns.nodes (running)", |n| n >= 1)?;
            if d["score"]["target"].is_number() { Ok(()) } else { Err("score.target is not set".into()) }
        },
    )
}

fn scoreboard_cell() -> Vec<Field> {
    vec![
        req("kpiKey"),
        req("value"),
        req("target"),
        req("status"),
        req("trend").of("KpiTrend", vec![req("direction"), req("values")]),
    ]
}

/// Screen 3, a manager's weekly scoreboard of their region: every KPI of every one of its 20 reps.
pub fn scoreboard() -> Screen {
    Screen::new(
        "scoreboard",
        "team scoreboard (region of 20)",
        "query TeamScoreboard($t: ID!)",
        vec![req("scoreboard").args("(teamId: $t)").of(
            "Scoreboard",
            vec![
                opt("weekStart"),
                opt("team").of("Team", vec![req("name")]),
                opt("kpis").of("Kpi", vec![req("key"), opt("name"), opt("unit"), opt("direction"), opt("description")]),
                req("rows").of(
                    "ScoreboardRow",
                    vec![
                        req("member").of("Member", vec![req("id"), opt("name")]),
                        req("cells").of("ScoreboardCell", scoreboard_cell()),
                    ],
                ),
                opt("totals").of("ScoreboardCell", scoreboard_cell()),
            ],
        )],
        |d| {
            let rows = &d["scoreboard"]["rows"];
            count(rows, "scoreboard.rows", |n| n == 20)?;
            count(&rows[0]["cells"], "scoreboard.rows[0].cells", |n| n >= 1)
        },
    )
}

/// Screen 4, the pipeline: a manager's 50 most recently changed open deals with their checklists.
pub fn pipeline() -> Screen {
    Screen::new(
        "pipeline",
        "pipeline (manager, 50 open deals)",
        "query Pipeline",
        vec![req("deals").args("(first: 50, filter: {open: true})").of(
            "DealConnection",
            vec![
                opt("totalCount"),
                opt("pageInfo").of("PageInfo", vec![req("hasNextPage"), req("endCursor")]),
                req("nodes").of(
                    "Deal",
                    vec![
                        req("id"),
                        opt("name"),
                        opt("company"),
                        req("amount").of("Money", money()),
                        req("stage").of("PipelineStage", vec![req("name"), opt("position")]),
                        req("owner").of("Member", vec![req("name"), opt("id")]),
                        opt("expectedCloseDate"),
                        opt("probability"),
                        opt("forecastCategory"),
                        opt("leadSource"),
                        opt("updatedAt"),
                        req("checklist").of(
                            "DealChecklistEntry",
                            vec![
                                req("done"),
                                opt("completedAt"),
                                req("item").of(
                                    "ChecklistItem",
                                    vec![req("id"), req("label"), opt("kind"), opt("required")],
                                ),
                            ],
                        ),
                    ],
                ),
            ],
        )],
        |d| count(&d["deals"]["nodes"], "deals.nodes", |n| n == 50),
    )
}

/// The columns of one forecast row; the same at every level of the tree.
fn forecast_row(subject: Field, below: Vec<Field>) -> Vec<Field> {
    let numbers = || {
        vec![
            req("commit").of("Money", money()),
            req("bestCase").of("Money", money()),
            opt("note"),
            opt("at"),
            opt("by").of("Member", vec![req("name")]),
        ]
    };
    let mut row = vec![
        subject,
        req("submitted").of("ForecastNumbers", numbers()),
        opt("adjusted").of("ForecastNumbers", numbers()),
        req("closedWon").of("Money", money()),
        opt("quota").of("Money", money()),
        opt("pipeline").of("Money", money()),
        opt("bestCase").of("Money", money()),
        opt("commit").of("Money", money()),
        opt("closed").of("Money", money()),
        opt("omitted").of("Money", money()),
        opt("commitView").of("Money", money()),
        opt("bestCaseView").of("Money", money()),
        opt("openPipeline").of("Money", money()),
        opt("weightedPipeline").of("Money", money()),
        opt("systemForecast").of("Money", money()),
        opt("runRate").of("Money", money()),
        opt("coverage"),
        opt("history").of("ForecastNumbers", numbers()),
    ];
    row.extend(below);
    row
}

/// Screen 5, a manager's forecast of their region for this quarter: the region, its two sub-teams
/// and their members, each with the rolled-up, submitted and system numbers.
pub fn forecast() -> Screen {
    let team = || req("team").of("Team", vec![req("id"), req("name")]);
    let member = || req("member").of("Member", vec![req("id"), req("name")]);
    let rolled_up = || {
        req("rolledUp")
            .of("ForecastTotals", vec![req("commit").of("Money", money()), req("bestCase").of("Money", money())])
    };
    let member_rows = || req("members").of("ForecastRow", forecast_row(member(), vec![]));
    let sub_team_rows = req("subTeams").of("ForecastRow", forecast_row(team(), vec![rolled_up(), member_rows()]));
    Screen::new(
        "forecast",
        "forecast tree (region, this quarter)",
        "query ForecastTree($t: ID!)",
        vec![req("forecast").args("(teamId: $t, period: {grain: QUARTER})").of(
            "Forecast",
            vec![
                opt("grain"),
                opt("periodStart"),
                opt("periodEnd"),
                opt("elapsedShare"),
                req("root").of("ForecastRow", forecast_row(team(), vec![rolled_up(), sub_team_rows, member_rows()])),
            ],
        )],
        |d| {
            let subs = &d["forecast"]["root"]["subTeams"];
            count(subs, "forecast.root.subTeams", |n| n == 2)?;
            count(&subs[0]["members"], "forecast.root.subTeams[0].members", |n| n == 10)
        },
    )
}

/// Every screen, prepared for this server and seed; prints what each asks.
pub async fn prepare(
    http: &reqwest::Client,
    addr: &str,
    admin: &str,
    seed: u64,
) -> anyhow::Result<BTreeMap<&'static str, Screen>> {
    let mut all = [board(), phone_home(), scoreboard(), pipeline(), forecast()];
    let schema = introspect(http, addr, admin, &all.iter().collect::<Vec<_>>()).await?;
    println!("  field seed {seed} (repeat this run's selections with --field-seed {seed})");
    for s in &mut all {
        s.prepare(&schema, seed)?;
        let list = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(", ");
        println!(
            "  {}: asks {}",
            s.name,
            if s.chosen.is_empty() { "no optional field".into() } else { list(&s.chosen) }
        );
        for d in &s.dropped {
            let pending = PENDING_FIELDS.iter().any(|(t, f)| format!("{t}.{f}") == *d);
            println!(
                "    dropped {d}: {}",
                if pending { "not on this server yet" } else { "the server has no such field (check the screen)" }
            );
        }
    }
    Ok(all.into_iter().map(|s| (s.key, s)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_fields_and_another_seed_others() {
        let labels: Vec<String> = (0..40).map(|i| format!("Type.field{i}")).collect();
        let picks = |seed| labels.iter().map(|l| toss(seed, "board", l)).collect::<Vec<_>>();
        assert_eq!(picks(1), picks(1));
        assert_ne!(picks(1), picks(2));
        let kept = picks(3).into_iter().filter(|k| *k).count();
        assert!((8..=32).contains(&kept), "about half: {kept}");
    }

    #[test]
    fn an_answer_must_carry_every_selected_field_and_non_null_values() {
        let mut sel = Sel { ty: "T", fields: vec![req("a"), req("b").of("U", vec![req("c")])] };
        sel.fields[0].non_null = true;
        assert!(conforms(&sel, &json!({"a": 1, "b": [{"c": null}]})).is_ok());
        assert!(conforms(&sel, &json!({"a": null, "b": null})).is_err());
        assert!(conforms(&sel, &json!({"a": 1, "b": [{}]})).is_err());
    }
}
