//! Pipeline rules: stage kinds, forecast categories, probabilities on stage moves, the
//! checklist gate, money amounts and deal splits. Pure functions, no I/O.

use std::collections::HashSet;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use uuid::Uuid;

use crate::core::field::FieldError;

stored_enum!(
    /// What reaching a stage means.
    StageKind {
        /// The deal is still being worked.
        Open => "OPEN",
        /// The deal is won.
        Won => "WON",
        /// The deal is lost.
        Lost => "LOST",
    }
);

stored_enum!(
    /// A deal's forecast category (DESIGN.md §5).
    ForecastCategory {
        /// Early pipeline.
        Pipeline => "PIPELINE",
        /// Could close this period.
        BestCase => "BEST_CASE",
        /// Expected to close this period.
        Commit => "COMMIT",
        /// Won.
        Closed => "CLOSED",
        /// Left out of the forecast.
        Omitted => "OMITTED",
    }
);

stored_enum!(
    /// What a checklist item asks.
    ChecklistKind {
        /// A deal field that must be filled.
        Content => "CONTENT",
        /// A step the rep ticks off.
        Process => "PROCESS",
    }
);

stored_enum!(
    /// How a closed deal ended.
    DealOutcome {
        /// Won.
        Won => "WON",
        /// Lost.
        Lost => "LOST",
    }
);

stored_enum!(
    /// How a split partner is credited.
    SplitKind {
        /// A share of the revenue; revenue shares sum to 100 %.
        Revenue => "REVENUE",
        /// Credit on top of the revenue shares.
        Overlay => "OVERLAY",
    }
);

stored_enum!(
    /// The type of an organization-defined deal field.
    CustomFieldType {
        /// Free text, at most 2000 characters.
        Text => "TEXT",
        /// A finite number.
        Number => "NUMBER",
        /// A date, `YYYY-MM-DD`.
        Date => "DATE",
        /// True or false.
        Boolean => "BOOLEAN",
        /// One of the field's choices.
        Choice => "CHOICE",
    }
);

/// An organization-defined deal field as the validator sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomFieldDef {
    /// camelCase key.
    pub key: String,
    /// Its type.
    pub field_type: CustomFieldType,
    /// CHOICE: the allowed values.
    pub choices: Vec<String>,
}

/// A custom field key: camelCase (`^[a-z][A-Za-z0-9]{0,39}$`), not a built-in deal field.
pub fn parse_custom_field_key(raw: &str) -> Result<String, FieldError> {
    let k = raw.trim();
    let ok = (1..=40).contains(&k.len())
        && k.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && k.chars().all(|c| c.is_ascii_alphanumeric());
    if !ok {
        return Err(FieldError::new(
            "key",
            "INVALID",
            "must be camelCase letters and digits, starting lower-case, at most 40",
        ));
    }
    if CONTENT_FIELDS.contains(&k) || ["name", "owner", "stage", "probability"].contains(&k) {
        return Err(FieldError::new("key", "RESERVED", "that is a built-in deal field"));
    }
    Ok(k.to_owned())
}

/// Applies changes to a deal's custom fields: `changes` must be an object whose keys are
/// defined fields (null removes a value) with values of the field's type. All problems are
/// reported together, with the key in the path (`input.deal.customFields.<key>`).
pub fn merge_custom_fields(
    defs: &[CustomFieldDef],
    current: &serde_json::Map<String, serde_json::Value>,
    changes: &serde_json::Value,
) -> Result<serde_json::Map<String, serde_json::Value>, Vec<FieldError>> {
    use serde_json::Value;
    let err = |key: &str, code: &'static str, message: String| FieldError {
        field: vec!["input".into(), "customFields".into(), key.into()],
        message,
        code,
    };
    let Value::Object(changes) = changes else {
        return Err(vec![FieldError::new("customFields", "INVALID", "must be an object of field keys to values")]);
    };
    let mut merged = current.clone();
    let mut errors = Vec::new();
    for (key, value) in changes {
        let Some(def) = defs.iter().find(|d| &d.key == key) else {
            errors.push(err(key, "UNKNOWN_FIELD", format!("'{key}' is not a defined custom field")));
            continue;
        };
        if value.is_null() {
            merged.remove(key);
            continue;
        }
        let valid = match def.field_type {
            CustomFieldType::Text => {
                value.as_str().is_some_and(|s| s.chars().count() <= 2000 && !s.chars().any(|c| c == '\u{0}'))
            }
            CustomFieldType::Number => value.as_f64().is_some_and(f64::is_finite),
            CustomFieldType::Date => {
                value.as_str().is_some_and(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok())
            }
            CustomFieldType::Boolean => value.is_boolean(),
            CustomFieldType::Choice => value.as_str().is_some_and(|s| def.choices.iter().any(|c| c == s)),
        };
        if valid {
            merged.insert(key.clone(), value.clone());
        } else {
            errors.push(err(key, "INVALID", format!("'{key}' must be a {}", def.field_type.as_str())));
        }
    }
    if errors.is_empty() { Ok(merged) } else { Err(errors) }
}

/// The deal fields a CONTENT checklist item may require.
pub const CONTENT_FIELDS: [&str; 10] = [
    "company",
    "amount",
    "expectedCloseDate",
    "leadSource",
    "firstContactAt",
    "address",
    "country",
    "postalCode",
    "industry",
    "companySize",
];

/// Largest amount: ten billion in the currency's units.
pub const MAX_AMOUNT_CENTS: i64 = 1_000_000_000_000;

/// A money amount given as a decimal string ("1250.50"): at least 0, at most 2 decimals.
pub fn parse_amount(field: &str, raw: &str) -> Result<i64, FieldError> {
    let text = raw.trim();
    let plain = !text.is_empty()
        && text.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        && text.chars().filter(|c| *c == '.').count() <= 1;
    if !plain {
        return Err(FieldError::new(field, "INVALID", "must be a decimal number like 1250.50"));
    }
    let value: Decimal =
        text.parse().map_err(|_| FieldError::new(field, "INVALID", "must be a decimal number like 1250.50"))?;
    if value.is_sign_negative() {
        return Err(FieldError::new(field, "OUT_OF_RANGE", "must not be negative"));
    }
    if value.normalize().scale() > 2 {
        return Err(FieldError::new(field, "INVALID", "at most 2 decimals"));
    }
    // Checked: a 28-digit amount parses as a Decimal but overflows it when scaled (found by
    // the `money` fuzz target; it panicked the request).
    match value.checked_mul(Decimal::ONE_HUNDRED).and_then(|v| v.to_i64()) {
        Some(c) if c <= MAX_AMOUNT_CENTS => Ok(c),
        _ => Err(FieldError::new(field, "OUT_OF_RANGE", "too large")),
    }
}

/// Cents as the decimal string the API shows ("1250.50").
pub fn format_amount(cents: i64) -> String {
    Decimal::new(cents, 2).to_string()
}

/// A win probability, 0 to 100.
pub fn parse_probability(field: &str, value: i32) -> Result<i32, FieldError> {
    if (0..=100).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(field, "OUT_OF_RANGE", "must be between 0 and 100"))
    }
}

/// A deal's probability after entering a stage: WON forces 100 and LOST 0; otherwise a
/// probability set by hand survives, else the stage's default applies.
pub fn probability_after_move(current: i32, manual: bool, kind: StageKind, stage_default: i32) -> i32 {
    match kind {
        StageKind::Won => 100,
        StageKind::Lost => 0,
        StageKind::Open if manual => current,
        StageKind::Open => stage_default,
    }
}

/// A deal's forecast category after entering a stage: WON is CLOSED, LOST is OMITTED;
/// otherwise a category set by hand survives, else the stage's default applies.
pub fn category_after_move(
    current: ForecastCategory,
    manual: bool,
    kind: StageKind,
    stage_default: ForecastCategory,
) -> ForecastCategory {
    match kind {
        StageKind::Won => ForecastCategory::Closed,
        StageKind::Lost => ForecastCategory::Omitted,
        StageKind::Open if manual => current,
        StageKind::Open => stage_default,
    }
}

/// A checklist item as the gate sees it.
#[derive(Debug, Clone)]
pub struct GateItem {
    /// The item.
    pub id: Uuid,
    /// Its stage's position.
    pub stage_position: i32,
    /// Shown in the refusal.
    pub label: String,
    /// CONTENT or PROCESS.
    pub kind: ChecklistKind,
    /// CONTENT: the field.
    pub field_name: Option<String>,
    /// Whether it blocks moving on.
    pub required: bool,
}

/// The required items that block leaving `from_position` for `to_position`: those of every
/// stage passed (from the current one up to, not including, the target). CONTENT items are
/// open while their field is empty, PROCESS items until ticked off. Moving back is never blocked.
pub fn open_required_items<'a>(
    items: &'a [GateItem],
    from_position: i32,
    to_position: i32,
    completed: &HashSet<Uuid>,
    filled_fields: &HashSet<&str>,
) -> Vec<&'a GateItem> {
    if to_position <= from_position {
        return Vec::new();
    }
    let mut open: Vec<&GateItem> = items
        .iter()
        .filter(|i| i.required && i.stage_position >= from_position && i.stage_position < to_position)
        .filter(|i| match i.kind {
            ChecklistKind::Process => !completed.contains(&i.id),
            ChecklistKind::Content => !i.field_name.as_deref().is_some_and(|f| filled_fields.contains(f)),
        })
        .collect();
    open.sort_by_key(|i| i.stage_position);
    open
}

/// A split as entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The partner.
    pub member_id: Uuid,
    /// REVENUE or OVERLAY.
    pub kind: SplitKind,
    /// 1 to 100.
    pub percent: i32,
}

/// Splits are valid when each percent is 1..=100, nobody appears twice in one kind, and the
/// revenue shares (if any are given) sum to exactly 100. Without revenue splits the owner
/// is credited 100 %.
pub fn check_splits(splits: &[Split]) -> Result<(), FieldError> {
    if splits.len() > 20 {
        return Err(FieldError::new("splits", "TOO_LONG", "at most 20 split partners"));
    }
    let mut seen = HashSet::new();
    for s in splits {
        if !(1..=100).contains(&s.percent) {
            return Err(FieldError::new("splits", "OUT_OF_RANGE", "each percent must be between 1 and 100"));
        }
        if !seen.insert((s.member_id, s.kind)) {
            return Err(FieldError::new("splits", "DUPLICATE", "a member appears twice with the same kind"));
        }
    }
    let revenue: i32 = splits.iter().filter(|s| s.kind == SplitKind::Revenue).map(|s| s.percent).sum();
    if splits.iter().any(|s| s.kind == SplitKind::Revenue) && revenue != 100 {
        return Err(FieldError::new("splits", "INVALID", format!("revenue splits must sum to 100, not {revenue}")));
    }
    Ok(())
}

/// An external ID for CRM sync: trimmed, 1 to 200 characters, no control characters.
pub fn parse_external_id(raw: &str) -> Result<String, FieldError> {
    let s = raw.trim();
    if s.is_empty() || s.chars().count() > 200 || s.chars().any(char::is_control) {
        return Err(FieldError::new("externalId", "INVALID", "must be 1 to 200 characters without control characters"));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("amount", "1250.50"), Ok(125_050));
        assert_eq!(parse_amount("amount", " 0 "), Ok(0));
        assert_eq!(parse_amount("amount", "12.5"), Ok(1250));
        assert_eq!(parse_amount("amount", "1.230"), Ok(123), "trailing zeros are fine");
        for bad in ["", "abc", "1.005", "-1", "1e3", "NaN", "10000000000.01"] {
            assert!(parse_amount("amount", bad).is_err(), "{bad}");
        }
        assert_eq!(parse_amount("amount", "10000000000"), Ok(MAX_AMOUNT_CENTS));
        assert_eq!(format_amount(125_050), "1250.50");
        assert_eq!(format_amount(0), "0.00");
    }

    #[test]
    fn probabilities_and_categories_on_moves() {
        assert_eq!(probability_after_move(35, false, StageKind::Open, 60), 60);
        assert_eq!(probability_after_move(35, true, StageKind::Open, 60), 35, "a manual value survives");
        assert_eq!(probability_after_move(35, true, StageKind::Won, 60), 100);
        assert_eq!(probability_after_move(35, true, StageKind::Lost, 60), 0);
        use ForecastCategory::*;
        assert_eq!(category_after_move(Pipeline, false, StageKind::Open, Commit), Commit);
        assert_eq!(category_after_move(BestCase, true, StageKind::Open, Commit), BestCase);
        assert_eq!(category_after_move(BestCase, true, StageKind::Won, Commit), Closed);
        assert_eq!(category_after_move(BestCase, false, StageKind::Lost, Commit), Omitted);
        assert!(parse_probability("probability", 101).is_err());
        assert!(parse_probability("probability", -1).is_err());
        assert_eq!(parse_probability("probability", 0), Ok(0));
    }

    #[test]
    fn the_checklist_gate() {
        let item = |n: u128, pos: i32, kind: ChecklistKind, field: Option<&str>, required: bool| GateItem {
            id: Uuid::from_u128(n),
            stage_position: pos,
            label: format!("item {n}"),
            kind,
            field_name: field.map(str::to_owned),
            required,
        };
        let items = vec![
            item(1, 0, ChecklistKind::Content, Some("company"), true),
            item(2, 0, ChecklistKind::Process, None, true),
            item(3, 0, ChecklistKind::Process, None, false),
            item(4, 1, ChecklistKind::Content, Some("amount"), true),
            item(5, 2, ChecklistKind::Process, None, true),
        ];
        let none = HashSet::new();
        let labels = |v: Vec<&GateItem>| v.into_iter().map(|i| i.label.clone()).collect::<Vec<_>>();
        assert_eq!(labels(open_required_items(&items, 0, 1, &none, &HashSet::new())), vec!["item 1", "item 2"]);
        // Skipping a stage: its required items count too.
        assert_eq!(
            labels(open_required_items(&items, 0, 2, &none, &HashSet::new())),
            vec!["item 1", "item 2", "item 4"]
        );
        let done = HashSet::from([Uuid::from_u128(2)]);
        let filled = HashSet::from(["company", "amount"]);
        assert!(open_required_items(&items, 0, 2, &done, &filled).is_empty());
        assert_eq!(labels(open_required_items(&items, 0, 3, &done, &filled)), vec!["item 5"]);
        // Moving back or staying is never blocked.
        assert!(open_required_items(&items, 2, 0, &none, &HashSet::new()).is_empty());
        assert!(open_required_items(&items, 1, 1, &none, &HashSet::new()).is_empty());
    }

    #[test]
    fn splits() {
        let m = |n: u128| Uuid::from_u128(n);
        let s = |n: u128, kind: SplitKind, percent: i32| Split { member_id: m(n), kind, percent };
        assert!(check_splits(&[]).is_ok());
        assert!(check_splits(&[s(1, SplitKind::Revenue, 60), s(2, SplitKind::Revenue, 40)]).is_ok());
        assert!(check_splits(&[s(1, SplitKind::Revenue, 100), s(2, SplitKind::Overlay, 50)]).is_ok());
        assert!(check_splits(&[s(2, SplitKind::Overlay, 50)]).is_ok(), "overlay only: the owner keeps 100 %");
        assert_eq!(
            check_splits(&[s(1, SplitKind::Revenue, 60), s(2, SplitKind::Revenue, 30)]).map_err(|e| e.code),
            Err("INVALID")
        );
        assert_eq!(check_splits(&[s(1, SplitKind::Revenue, 0)]).map_err(|e| e.code), Err("OUT_OF_RANGE"));
        assert_eq!(
            check_splits(&[s(1, SplitKind::Revenue, 50), s(1, SplitKind::Revenue, 50)]).map_err(|e| e.code),
            Err("DUPLICATE")
        );
    }

    #[test]
    fn custom_fields() {
        let defs = vec![
            CustomFieldDef { key: "budgetOwner".into(), field_type: CustomFieldType::Text, choices: vec![] },
            CustomFieldDef { key: "seats".into(), field_type: CustomFieldType::Number, choices: vec![] },
            CustomFieldDef { key: "renewal".into(), field_type: CustomFieldType::Date, choices: vec![] },
            CustomFieldDef { key: "signed".into(), field_type: CustomFieldType::Boolean, choices: vec![] },
            CustomFieldDef {
                key: "tier".into(),
                field_type: CustomFieldType::Choice,
                choices: vec!["gold".into(), "silver".into()],
            },
        ];
        let empty = serde_json::Map::new();
        let ok = merge_custom_fields(
            &defs,
            &empty,
            &serde_json::json!({"budgetOwner": "CFO", "seats": 12, "renewal": "2027-01-31", "signed": false, "tier": "gold"}),
        )
        .expect("valid");
        assert_eq!(ok.len(), 5);
        let removed = merge_custom_fields(&defs, &ok, &serde_json::json!({"tier": null})).expect("valid");
        assert!(!removed.contains_key("tier"));
        let bad = merge_custom_fields(
            &defs,
            &empty,
            &serde_json::json!({"seats": "twelve", "renewal": "31-01-2027", "signed": "yes", "tier": "bronze", "color": "red"}),
        )
        .expect_err("invalid");
        let codes: Vec<(&str, &str)> = bad.iter().map(|e| (e.field[2].as_str(), e.code)).collect();
        assert_eq!(codes.len(), 5);
        assert!(codes.contains(&("color", "UNKNOWN_FIELD")));
        assert!(codes.contains(&("tier", "INVALID")));
        assert!(merge_custom_fields(&defs, &empty, &serde_json::json!([1, 2])).is_err());
        assert_eq!(parse_custom_field_key("budgetOwner").as_deref(), Ok("budgetOwner"));
        for bad in ["", "BudgetOwner", "budget_owner", "amount", "1st", &"a".repeat(41)] {
            assert!(parse_custom_field_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn enums_and_external_ids() {
        for k in [StageKind::Open, StageKind::Won, StageKind::Lost] {
            assert_eq!(StageKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ForecastCategory::parse("BEST_CASE"), Some(ForecastCategory::BestCase));
        assert_eq!(ForecastCategory::parse("best_case"), None);
        assert_eq!(parse_external_id(" sf-0061 ").as_deref(), Ok("sf-0061"));
        assert!(parse_external_id("").is_err());
        assert!(parse_external_id("a\u{0}b").is_err());
        assert!(parse_external_id(&"x".repeat(201)).is_err());
    }
}
