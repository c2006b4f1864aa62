//! An organization's archive: the format (one JSON object per line: a header with the
//! organization, one line per row tagged with its table, a manifest with the counts last), the
//! tables it holds in the order they can be written back, and the renaming of IDs that lets an
//! archive be read into a new organization beside the one it came from. Pure functions.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The archive format this server writes and reads.
pub const FORMAT: u32 = 1;

/// The tables an archive holds, in the order they can be written (a row's references come
/// before it) and erased in reverse. Left out, by design: sign-in secrets (refresh tokens, API
/// keys), persisted queries (a cache) and host names (the new owner verifies its own).
pub const TABLES: &[&str] = &[
    "team",
    "member",
    "pipeline_stage",
    "activity_type",
    "checklist_item",
    "custom_field",
    "deal",
    "deal_split",
    "deal_checklist",
    "deal_stage_history",
    "activity",
    "activity_day_total",
    "work_item_progress",
    "campaign",
    "points_target",
    "kpi",
    "kpi_target",
    "kpi_report",
    "kpi_week_lock",
    "alert_rule",
    "alert",
    "mystery_criterion",
    "mystery_round",
    "mystery_check",
    "territory",
    "territory_assignment",
    "quota",
    "incentive_plan",
    "plan_version",
    "plan_assignment",
    "statement",
    "statement_line",
    "dispute",
    "clawback",
    "forecast_submission",
    "forecast_adjustment",
    "webhook",
    "webhook_delivery",
    "identity_provider",
    "label_override",
    "audit_entry",
];

/// The tables of an organization's set-up, copied into a new one by a template (never people
/// or data): rows that name a member or a team are left out (`member_id`, `team_id` set).
pub const SETUP_TABLES: &[&str] = &[
    "pipeline_stage",
    "checklist_item",
    "custom_field",
    "activity_type",
    "kpi",
    "kpi_target",
    "points_target",
    "alert_rule",
    "mystery_criterion",
    "incentive_plan",
    "plan_version",
    "label_override",
];

/// Whether a set-up row is about one member or team (left out of a copy).
pub fn names_people(row: &Value) -> bool {
    ["member_id", "team_id"].iter().any(|c| row.get(*c).is_some_and(|v| !v.is_null()))
}

/// Tenant tables erased with the organization but never archived.
pub const NOT_ARCHIVED: &[&str] = &["refresh_token", "api_key", "persisted_query", "organization_domain"];

/// One line of an archive.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Line {
    /// The first line: the format and the organization's own row.
    Header {
        /// [`FORMAT`].
        scorebord_archive: u32,
        /// The organization.
        organization: Value,
    },
    /// A row of a table.
    Row {
        /// One of [`TABLES`].
        table: String,
        /// The row, as its columns.
        row: Value,
    },
    /// The last line: rows per table (an archive cut short lacks it).
    Manifest {
        /// Rows per table.
        manifest: Manifest,
    },
}

/// What an archive holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Rows per table, every table of [`TABLES`] named.
    pub tables: BTreeMap<String, u64>,
    /// All rows.
    pub rows: u64,
}

/// New IDs for the IDs of an archive's rows, so it can be read into a new organization beside
/// the one it came from: every `id` gets a fresh one, and every value equal to an old ID (a
/// reference) follows it.
#[derive(Debug, Default)]
pub struct Renames(HashMap<Uuid, Uuid>);

impl Renames {
    /// Renames `from` to `to` (the organization itself).
    pub fn insert(&mut self, from: Uuid, to: Uuid) {
        self.0.insert(from, to);
    }

    /// Gives the row's `id` a new ID.
    pub fn learn(&mut self, row: &Value) {
        if let Some(id) = row.get("id").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok()) {
            self.0.entry(id).or_insert_with(Uuid::now_v7);
        }
    }

    /// The row with every renamed ID replaced by its new ID: a column that is an ID, and an ID
    /// inside a text column (a JSON list of activity types, a plan's components).
    pub fn apply(&self, mut row: Value) -> Value {
        if let Some(obj) = row.as_object_mut() {
            for value in obj.values_mut() {
                if let Some(text) = value.as_str()
                    && let Some(renamed) = self.rename_in(text)
                {
                    *value = Value::String(renamed);
                }
            }
        }
        row
    }

    /// `text` with every renamed ID in it (hyphenated, any case) replaced; `None` if none is.
    fn rename_in(&self, text: &str) -> Option<String> {
        const LEN: usize = 36;
        let bytes = text.as_bytes();
        if bytes.len() < LEN {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let (mut copied, mut i, mut changed) = (0, 0, false);
        while i + LEN <= bytes.len() {
            let candidate = &bytes[i..i + LEN];
            let shaped = candidate.iter().enumerate().all(|(k, b)| match k {
                8 | 13 | 18 | 23 => *b == b'-',
                _ => b.is_ascii_hexdigit(),
            });
            let new = shaped
                .then(|| std::str::from_utf8(candidate).ok().and_then(|s| Uuid::parse_str(s).ok()))
                .flatten()
                .and_then(|id| self.0.get(&id));
            match new {
                Some(new) => {
                    out.push_str(&text[copied..i]);
                    out.push_str(&new.to_string());
                    i += LEN;
                    copied = i;
                    changed = true;
                }
                None => i += 1,
            }
        }
        changed.then(|| {
            out.push_str(&text[copied..]);
            out
        })
    }
}

/// Rows of a table in an order in which each row's `parent` (a column naming another row of
/// the same table) comes before it: parents first, then their children.
pub fn parents_first(rows: Vec<Value>, parent: &str) -> Vec<Value> {
    let ids: std::collections::HashSet<String> =
        rows.iter().filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_owned)).collect();
    let mut placed: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut left = rows;
    let mut out = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let (ready, wait): (Vec<Value>, Vec<Value>) =
            left.into_iter().partition(|r| match r.get(parent).and_then(Value::as_str) {
                Some(p) => !ids.contains(p) || placed.contains(p),
                None => true,
            });
        if ready.is_empty() {
            // A cycle (never in a valid tree): keep the rest as they are.
            out.extend(wait);
            break;
        }
        for r in &ready {
            if let Some(id) = r.get("id").and_then(Value::as_str) {
                placed.insert(id.to_owned());
            }
        }
        out.extend(ready);
        left = wait;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines_round_trip_in_their_three_shapes() {
        let lines = [
            Line::Header { scorebord_archive: FORMAT, organization: json!({"id": "x"}) },
            Line::Row { table: "team".into(), row: json!({"id": "t"}) },
            Line::Manifest { manifest: Manifest { tables: BTreeMap::from([("team".into(), 1)]), rows: 1 } },
        ];
        for line in lines {
            let text = serde_json::to_string(&line).unwrap();
            assert_eq!(serde_json::from_str::<Line>(&text).unwrap(), line, "{text}");
        }
        assert!(serde_json::from_str::<Line>(r#"{"something": 1}"#).is_err());
    }

    #[test]
    fn every_id_and_every_reference_to_it_is_renamed_consistently() {
        let org = Uuid::now_v7();
        let new_org = Uuid::now_v7();
        let team = Uuid::now_v7();
        let member = Uuid::now_v7();
        let mut r = Renames::default();
        r.insert(org, new_org);
        let team_row = json!({"id": team.to_string(), "organization_id": org.to_string(), "name": "Sales"});
        let member_row = json!({"id": member.to_string(), "organization_id": org.to_string(), "team_id": team.to_string(),
            "email": "a@b.nl", "points_cents": 300});
        r.learn(&team_row);
        r.learn(&member_row);
        let (t, m) = (r.apply(team_row), r.apply(member_row));
        assert_ne!(t["id"], team.to_string());
        assert_eq!(m["team_id"], t["id"], "the reference follows the renamed row");
        assert_eq!(m["organization_id"], new_org.to_string());
        assert_eq!((m["email"].clone(), m["points_cents"].clone()), (json!("a@b.nl"), json!(300)));
        let outside = Uuid::now_v7().to_string();
        assert_eq!(r.apply(json!({"actor_id": outside}))["actor_id"], outside, "an ID of no archived row stays");
    }

    #[test]
    fn ids_inside_text_follow_too() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut r = Renames::default();
        r.learn(&json!({"id": a.to_string()}));
        let list = format!("[\"{a}\",\"{b}\"]");
        let renamed = r.apply(json!({"activity_type_ids": list}));
        let text = renamed["activity_type_ids"].as_str().unwrap();
        assert!(!text.contains(&a.to_string()), "{text}");
        assert!(text.contains(&b.to_string()), "an ID of no archived row stays: {text}");
        assert_eq!(text.len(), list.len());
        let upper = a.to_string().to_uppercase();
        assert!(!r.apply(json!({"x": format!("id {upper}.")}))["x"].as_str().unwrap().contains(&upper));
        assert_eq!(r.apply(json!({"x": "short"}))["x"], "short");
        assert_eq!(r.apply(json!({"x": "ü".repeat(40)}))["x"], "ü".repeat(40), "multi-byte text is left whole");
    }

    #[test]
    fn parents_come_before_children_whatever_the_order_given() {
        let rows = vec![
            json!({"id": "c", "parent": "b"}),
            json!({"id": "b", "parent": "a"}),
            json!({"id": "a", "parent": null}),
            json!({"id": "d", "parent": "elsewhere"}),
        ];
        let order: Vec<String> =
            parents_first(rows, "parent").iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
        let pos = |x: &str| order.iter().position(|o| o == x).unwrap();
        assert!(pos("a") < pos("b") && pos("b") < pos("c"), "{order:?}");
        assert_eq!(order.len(), 4);
    }

    #[test]
    fn the_archived_and_the_not_archived_tables_do_not_overlap() {
        for t in NOT_ARCHIVED {
            assert!(!TABLES.contains(t), "{t}");
        }
        let unique: std::collections::HashSet<&&str> = TABLES.iter().collect();
        assert_eq!(unique.len(), TABLES.len());
    }
}
