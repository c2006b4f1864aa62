//! Territory rules: kinds and assignment roles, validation of routing rules, routing a deal to
//! the deepest matching territory, assignment spans (one owner at a time) and coverage.
//! Pure functions, no I/O.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use chrono::NaiveDate;
use uuid::Uuid;

use crate::core::field::FieldError;
use crate::org::model::TeamTree;

stored_enum!(
    /// What a territory groups.
    TerritoryKind {
        /// A geographic area (countries, postal-code ranges).
        Region => "REGION",
        /// A market segment (industry, company size).
        Segment => "SEGMENT",
        /// A named list of accounts.
        NamedAccounts => "NAMED_ACCOUNTS",
    }
);

stored_enum!(
    /// The part a member plays in a territory.
    AssignmentRole {
        /// The primary owner: at most one at a time per territory.
        Owner => "OWNER",
        /// A specialist or partner working the territory beside the owner.
        Overlay => "OVERLAY",
    }
);

// ---------------------------------------------------------------------------------------------
// Routing rules
// ---------------------------------------------------------------------------------------------

/// Most routing rules one territory may have.
pub const MAX_RULES: usize = 50;
/// Lowest and highest rule priority.
pub const PRIORITY_RANGE: std::ops::RangeInclusive<i32> = -1000..=1000;
/// Longest postal-code prefix (after removing spaces).
pub const MAX_POSTAL_PREFIX_LEN: usize = 10;
/// Longest industry name.
pub const MAX_INDUSTRY_LEN: usize = 100;

/// A routing rule as stored: every condition that is set must hold.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoutingRule {
    /// ISO 3166-1 alpha-2 country code, upper-case.
    pub country: Option<String>,
    /// Start of the postal code: upper-case letters and digits, no spaces.
    pub postal_prefix: Option<String>,
    /// Industry, compared ignoring case.
    pub industry: Option<String>,
    /// Smallest company size (employees), inclusive.
    pub size_min: Option<i32>,
    /// Largest company size (employees), inclusive.
    pub size_max: Option<i32>,
    /// Breaks ties between territories at the same depth: higher wins.
    pub priority: i32,
}

impl RoutingRule {
    fn has_condition(&self) -> bool {
        self.country.is_some()
            || self.postal_prefix.is_some()
            || self.industry.is_some()
            || self.size_min.is_some()
            || self.size_max.is_some()
    }
}

/// ISO 3166-1 officially assigned alpha-2 codes, sorted.
const ISO_COUNTRIES: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD",
    "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA",
    "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE",
    "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA",
    "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK",
    "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP",
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT",
    "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS",
    "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
    "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS",
    "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
    "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA",
    "ZM", "ZW",
];

/// Whether `code` (upper-case) is an officially assigned ISO 3166-1 alpha-2 code.
pub fn is_iso_country(code: &str) -> bool {
    ISO_COUNTRIES.binary_search(&code).is_ok()
}

/// A postal code or prefix as compared: whitespace removed, upper-case.
fn compact_postal(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect()
}

/// An error on `input.rules.<index>` or one of its fields.
fn rule_error(index: usize, field: Option<&str>, code: &'static str, message: impl Into<String>) -> FieldError {
    let mut path = vec!["input".to_owned(), "rules".to_owned(), index.to_string()];
    path.extend(field.map(str::to_owned));
    FieldError { field: path, message: message.into(), code }
}

/// Validates and normalizes the rule at position `index` of the input list (errors name
/// `input.rules.<index>.<field>`): country an ISO 3166-1 alpha-2 code, upper-cased; postal
/// prefix without spaces, upper-cased, 1 to 10 letters and digits; industry trimmed, 1 to 100
/// characters without control characters; sizes not negative and `sizeMin ≤ sizeMax`;
/// priority −1000 to 1000. A rule without any condition would route every deal and is refused.
pub fn normalize_rule(index: usize, rule: RoutingRule) -> Result<RoutingRule, FieldError> {
    let country = match rule.country {
        Some(raw) => {
            let code = raw.trim().to_ascii_uppercase();
            if !is_iso_country(&code) {
                return Err(rule_error(
                    index,
                    Some("country"),
                    "INVALID",
                    format!("'{raw}' is not an ISO 3166-1 alpha-2 country code like NL"),
                ));
            }
            Some(code)
        }
        None => None,
    };
    let postal_prefix = match rule.postal_prefix {
        Some(raw) => {
            let prefix = compact_postal(&raw);
            let ok = (1..=MAX_POSTAL_PREFIX_LEN).contains(&prefix.chars().count())
                && prefix.chars().all(|c| c.is_ascii_alphanumeric());
            if !ok {
                return Err(rule_error(
                    index,
                    Some("postalPrefix"),
                    "INVALID",
                    format!("must be 1 to {MAX_POSTAL_PREFIX_LEN} letters and digits"),
                ));
            }
            Some(prefix)
        }
        None => None,
    };
    let industry = match rule.industry {
        Some(raw) => {
            let industry = raw.trim();
            if industry.is_empty() {
                return Err(rule_error(index, Some("industry"), "REQUIRED", "must not be empty"));
            }
            if industry.chars().count() > MAX_INDUSTRY_LEN {
                return Err(rule_error(
                    index,
                    Some("industry"),
                    "TOO_LONG",
                    format!("must be at most {MAX_INDUSTRY_LEN} characters"),
                ));
            }
            if industry.chars().any(char::is_control) {
                return Err(rule_error(index, Some("industry"), "INVALID", "must not contain control characters"));
            }
            Some(industry.to_owned())
        }
        None => None,
    };
    if let Some(min) = rule.size_min
        && min < 0
    {
        return Err(rule_error(index, Some("sizeMin"), "OUT_OF_RANGE", "must not be negative"));
    }
    if let Some(max) = rule.size_max
        && max < 0
    {
        return Err(rule_error(index, Some("sizeMax"), "OUT_OF_RANGE", "must not be negative"));
    }
    if let (Some(min), Some(max)) = (rule.size_min, rule.size_max)
        && min > max
    {
        return Err(rule_error(index, Some("sizeMax"), "INVALID", format!("must be at least sizeMin ({min})")));
    }
    if !PRIORITY_RANGE.contains(&rule.priority) {
        return Err(rule_error(index, Some("priority"), "OUT_OF_RANGE", "must be between -1000 and 1000"));
    }
    let normalized = RoutingRule {
        country,
        postal_prefix,
        industry,
        size_min: rule.size_min,
        size_max: rule.size_max,
        priority: rule.priority,
    };
    if !normalized.has_condition() {
        return Err(rule_error(index, None, "INVALID", "a rule needs at least one condition"));
    }
    Ok(normalized)
}

/// A territory's full rule list: at most [`MAX_RULES`], each normalized by [`normalize_rule`].
/// The first problem is reported.
pub fn check_rules(rules: Vec<RoutingRule>) -> Result<Vec<RoutingRule>, FieldError> {
    if rules.len() > MAX_RULES {
        return Err(FieldError::new("rules", "TOO_LONG", format!("at most {MAX_RULES} rules per territory")));
    }
    rules.into_iter().enumerate().map(|(i, rule)| normalize_rule(i, rule)).collect()
}

/// What routing looks at on a new deal or lead.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DealLocation {
    /// Country code, any case.
    pub country: Option<String>,
    /// Postal code as entered ("1011 ab").
    pub postal_code: Option<String>,
    /// Industry as entered.
    pub industry: Option<String>,
    /// Company size (employees).
    pub company_size: Option<i32>,
}

/// Whether every condition set on `rule` holds for `deal`: country equal ignoring case; postal
/// code (spaces removed, upper-cased) starting with the prefix; industry equal ignoring case and
/// surrounding space; size within `[sizeMin, sizeMax]` (an unset side is unbounded). A condition
/// on a field the deal lacks does not hold. A rule without any condition matches nothing
/// ([`normalize_rule`] refuses it, so only a corrupt row could have none).
pub fn rule_matches(rule: &RoutingRule, deal: &DealLocation) -> bool {
    // Each condition holds when it is unset, or set and met by a field the deal has.
    let country = rule
        .country
        .as_deref()
        .is_none_or(|wanted| deal.country.as_deref().is_some_and(|c| c.trim().eq_ignore_ascii_case(wanted.trim())));
    let postal = rule.postal_prefix.as_deref().is_none_or(|prefix| {
        deal.postal_code.as_deref().is_some_and(|p| compact_postal(p).starts_with(&compact_postal(prefix)))
    });
    let industry = rule.industry.as_deref().is_none_or(|wanted| {
        deal.industry.as_deref().is_some_and(|i| i.trim().to_lowercase() == wanted.trim().to_lowercase())
    });
    let size = (rule.size_min.is_none() && rule.size_max.is_none())
        || deal.company_size.is_some_and(|size| {
            rule.size_min.is_none_or(|min| size >= min) && rule.size_max.is_none_or(|max| size <= max)
        });
    rule.has_condition() && country && postal && industry && size
}

/// A territory and its routing rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerritoryRules {
    /// The territory.
    pub territory_id: Uuid,
    /// Its rules; any one matching routes the deal there.
    pub rules: Vec<RoutingRule>,
}

/// The territory a new deal belongs to: among the territories with at least one matching rule,
/// the deepest in `tree` (the most specific); at equal depth the one whose best matching rule
/// has the highest priority; then the smallest ID, so the answer never depends on input order.
/// `None` when no rule matches.
pub fn route(deal: &DealLocation, territories: &[TerritoryRules], tree: &TeamTree) -> Option<Uuid> {
    territories
        .iter()
        .filter_map(|t| {
            let priority = t.rules.iter().filter(|r| rule_matches(r, deal)).map(|r| r.priority).max()?;
            Some((tree.ancestors(t.territory_id).len(), priority, Reverse(t.territory_id)))
        })
        .max()
        .map(|(_, _, Reverse(id))| id)
}

// ---------------------------------------------------------------------------------------------
// Assignments
// ---------------------------------------------------------------------------------------------

/// A member's assignment to a territory over a range of days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssignmentSpan {
    /// The territory.
    pub territory_id: Uuid,
    /// The member.
    pub member_id: Uuid,
    /// OWNER or OVERLAY.
    pub role: AssignmentRole,
    /// First day (inclusive).
    pub from: NaiveDate,
    /// Last day (inclusive); `None` = open-ended.
    pub to: Option<NaiveDate>,
}

/// Whether the span covers `day` (both ends inclusive).
pub fn is_active_on(span: &AssignmentSpan, day: NaiveDate) -> bool {
    span.from <= day && span.to.is_none_or(|to| day <= to)
}

/// Whether the two spans' day ranges share at least one day (ends inclusive: a span ending
/// 2026-03-31 and one starting 2026-04-01 do not overlap). Only the dates are compared.
pub fn spans_overlap(a: &AssignmentSpan, b: &AssignmentSpan) -> bool {
    a.to.is_none_or(|a_to| b.from <= a_to) && b.to.is_none_or(|b_to| a.from <= b_to)
}

fn describe_span(span: &AssignmentSpan) -> String {
    match span.to {
        Some(to) => format!("{} to {to}", span.from),
        None => format!("{} on (open-ended)", span.from),
    }
}

/// Checks a new (or changed) assignment against the territory's other assignments (`existing`
/// must not contain the span being changed): `to` not before `from` (INVALID on `to`); the same
/// member assigned twice to the same territory on overlapping days is DUPLICATE (on `memberId`);
/// two OWNER spans of the same territory on overlapping days are OWNER_OVERLAP (on `from`),
/// naming the dates of the one in the way. Spans of other territories are ignored.
pub fn check_assignment(new: &AssignmentSpan, existing: &[AssignmentSpan]) -> Result<(), FieldError> {
    if let Some(to) = new.to
        && to < new.from
    {
        return Err(FieldError::new("to", "INVALID", format!("must not be before from ({})", new.from)));
    }
    let overlapping = || existing.iter().filter(|e| e.territory_id == new.territory_id && spans_overlap(e, new));
    if let Some(other) = overlapping().find(|e| e.member_id == new.member_id) {
        return Err(FieldError::new(
            "memberId",
            "DUPLICATE",
            format!(
                "the member is already assigned to this territory as {} from {}",
                other.role.as_str(),
                describe_span(other)
            ),
        ));
    }
    if new.role == AssignmentRole::Owner
        && let Some(other) = overlapping().find(|e| e.role == AssignmentRole::Owner)
    {
        return Err(FieldError::new(
            "from",
            "OWNER_OVERLAP",
            format!("the territory already has an owner from {}", describe_span(other)),
        ));
    }
    Ok(())
}

/// Gaps in coverage on one day.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Territories without an active OWNER, sorted.
    pub territories_without_owner: Vec<Uuid>,
    /// Active reps without any active assignment (OWNER or OVERLAY), sorted.
    pub members_without_territory: Vec<Uuid>,
}

/// Coverage on `day`: which of `territories` lack an active owner, and which of `active_reps`
/// work no territory. Both lists are sorted and free of duplicates.
pub fn coverage(territories: &[Uuid], spans: &[AssignmentSpan], active_reps: &[Uuid], day: NaiveDate) -> Coverage {
    let active: Vec<&AssignmentSpan> = spans.iter().filter(|s| is_active_on(s, day)).collect();
    let owned: BTreeSet<Uuid> =
        active.iter().filter(|s| s.role == AssignmentRole::Owner).map(|s| s.territory_id).collect();
    let assigned: BTreeSet<Uuid> = active.iter().map(|s| s.member_id).collect();
    let without_owner: BTreeSet<Uuid> = territories.iter().copied().filter(|t| !owned.contains(t)).collect();
    let without_territory: BTreeSet<Uuid> = active_reps.iter().copied().filter(|m| !assigned.contains(m)).collect();
    Coverage {
        territories_without_owner: without_owner.into_iter().collect(),
        members_without_territory: without_territory.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn rule() -> RoutingRule {
        RoutingRule { country: None, postal_prefix: None, industry: None, size_min: None, size_max: None, priority: 0 }
    }

    fn country(c: &str) -> RoutingRule {
        RoutingRule { country: Some(c.into()), ..rule() }
    }

    fn deal(country: Option<&str>, postal: Option<&str>, industry: Option<&str>, size: Option<i32>) -> DealLocation {
        DealLocation {
            country: country.map(str::to_owned),
            postal_code: postal.map(str::to_owned),
            industry: industry.map(str::to_owned),
            company_size: size,
        }
    }

    #[test]
    fn enums_round_trip() {
        for k in [TerritoryKind::Region, TerritoryKind::Segment, TerritoryKind::NamedAccounts] {
            assert_eq!(TerritoryKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(TerritoryKind::NamedAccounts.as_str(), "NAMED_ACCOUNTS");
        for r in [AssignmentRole::Owner, AssignmentRole::Overlay] {
            assert_eq!(AssignmentRole::parse(r.as_str()), Some(r));
        }
        assert_eq!(TerritoryKind::parse("region"), None);
        assert_eq!(AssignmentRole::parse(""), None);
    }

    #[test]
    fn country_list_is_sorted_and_complete() {
        assert!(ISO_COUNTRIES.windows(2).all(|w| w[0] < w[1]));
        for c in ["NL", "BE", "DE", "GB", "US", "AX", "ZW"] {
            assert!(is_iso_country(c), "{c}");
        }
        for c in ["UK", "EU", "XK", "ZZ", "nl", "", "NLD"] {
            assert!(!is_iso_country(c), "{c}");
        }
    }

    #[test]
    fn rules_are_normalized() {
        let raw = RoutingRule {
            country: Some(" nl ".into()),
            postal_prefix: Some(" 10 1a ".into()),
            industry: Some("  Software  ".into()),
            size_min: Some(0),
            size_max: Some(0),
            priority: 1000,
        };
        let n = normalize_rule(0, raw).expect("valid");
        assert_eq!(n.country.as_deref(), Some("NL"));
        assert_eq!(n.postal_prefix.as_deref(), Some("101A"));
        assert_eq!(n.industry.as_deref(), Some("Software"));
        assert_eq!((n.size_min, n.size_max, n.priority), (Some(0), Some(0), 1000));
        // A single condition of any kind is enough.
        assert!(normalize_rule(0, RoutingRule { size_max: Some(10), priority: -1000, ..rule() }).is_ok());
        assert!(normalize_rule(0, RoutingRule { size_min: Some(10), ..rule() }).is_ok());
        assert!(
            normalize_rule(0, RoutingRule { postal_prefix: Some("ABCDE12345".into()), ..rule() }).is_ok(),
            "ten characters"
        );
        assert_eq!(
            normalize_rule(0, RoutingRule { industry: Some("é".repeat(100)), ..rule() }).map(|r| r.industry),
            Ok(Some("é".repeat(100)))
        );
    }

    #[test]
    fn bad_rules_are_refused_with_their_path() {
        let fails = |i: usize, r: RoutingRule| normalize_rule(i, r).expect_err("should be refused");
        let e = fails(3, country("XX"));
        assert_eq!(
            (e.field.clone(), e.code),
            (vec!["input".into(), "rules".into(), "3".into(), "country".into()], "INVALID")
        );
        assert_eq!(fails(0, country("NLD")).code, "INVALID");
        assert_eq!(fails(0, country("")).code, "INVALID");
        let prefix = |p: &str| RoutingRule { postal_prefix: Some(p.into()), ..rule() };
        for bad in ["", "   ", "10-11", "ABCDE123456", "10.", "1ö"] {
            let e = fails(1, prefix(bad));
            assert_eq!((e.field.last().map(String::as_str), e.code), (Some("postalPrefix"), "INVALID"), "{bad:?}");
        }
        let industry = |s: &str| RoutingRule { industry: Some(s.into()), ..rule() };
        assert_eq!(fails(0, industry("  ")).code, "REQUIRED");
        assert_eq!(fails(0, industry(&"x".repeat(101))).code, "TOO_LONG");
        assert_eq!(fails(0, industry("soft\u{7}ware")).code, "INVALID");
        let e = fails(0, RoutingRule { size_min: Some(-1), ..rule() });
        assert_eq!((e.field.last().map(String::as_str), e.code), (Some("sizeMin"), "OUT_OF_RANGE"));
        let e = fails(0, RoutingRule { size_max: Some(-1), ..rule() });
        assert_eq!((e.field.last().map(String::as_str), e.code), (Some("sizeMax"), "OUT_OF_RANGE"));
        let e = fails(0, RoutingRule { size_min: Some(11), size_max: Some(10), ..rule() });
        assert_eq!((e.field.last().map(String::as_str), e.code), (Some("sizeMax"), "INVALID"));
        for p in [1001, -1001, i32::MAX, i32::MIN] {
            let e = fails(0, RoutingRule { priority: p, ..country("NL") });
            assert_eq!((e.field.last().map(String::as_str), e.code), (Some("priority"), "OUT_OF_RANGE"));
        }
        let e = fails(2, RoutingRule { priority: 5, ..rule() });
        assert_eq!(e.field, vec!["input", "rules", "2"]);
        assert_eq!((e.code, e.message.as_str()), ("INVALID", "a rule needs at least one condition"));
    }

    #[test]
    fn rule_lists() {
        assert_eq!(check_rules(vec![]), Ok(vec![]));
        let ok = check_rules(vec![country("nl"), country("be")]).expect("valid");
        assert_eq!(ok.iter().map(|r| r.country.as_deref()).collect::<Vec<_>>(), vec![Some("NL"), Some("BE")]);
        assert_eq!(check_rules(vec![country("NL"); MAX_RULES]).map(|r| r.len()), Ok(MAX_RULES));
        let e = check_rules(vec![country("NL"); MAX_RULES + 1]).expect_err("too many");
        assert_eq!((e.field, e.code), (vec!["input".to_owned(), "rules".to_owned()], "TOO_LONG"));
        let e = check_rules(vec![country("NL"), country("NL"), rule()]).expect_err("third has no condition");
        assert_eq!(e.field, vec!["input", "rules", "2"]);
    }

    #[test]
    fn matching_each_condition() {
        let nl = country("NL");
        assert!(rule_matches(&nl, &deal(Some("nl"), None, None, None)));
        assert!(rule_matches(&nl, &deal(Some(" NL "), None, None, None)));
        assert!(!rule_matches(&nl, &deal(Some("BE"), None, None, None)));
        assert!(!rule_matches(&nl, &deal(None, Some("1011AB"), None, None)), "missing country");

        let prefix = RoutingRule { postal_prefix: Some("10".into()), ..rule() };
        assert!(rule_matches(&prefix, &deal(None, Some("1011 ab"), None, None)));
        assert!(rule_matches(&prefix, &deal(None, Some("10"), None, None)));
        assert!(rule_matches(&prefix, &deal(None, Some(" 1 0 99"), None, None)));
        assert!(!rule_matches(&prefix, &deal(None, Some("2010"), None, None)));
        assert!(!rule_matches(&prefix, &deal(None, Some("1"), None, None)), "shorter than the prefix");
        assert!(!rule_matches(&prefix, &deal(None, Some(""), None, None)));
        assert!(!rule_matches(&prefix, &deal(None, None, None, None)));
        let letters = RoutingRule { postal_prefix: Some("SW1A".into()), ..rule() };
        assert!(rule_matches(&letters, &deal(Some("GB"), Some("sw1a 1aa"), None, None)));

        let industry = RoutingRule { industry: Some("Software".into()), ..rule() };
        assert!(rule_matches(&industry, &deal(None, None, Some("  SOFTWARE "), None)));
        assert!(!rule_matches(&industry, &deal(None, None, Some("Software services"), None)));
        assert!(!rule_matches(&industry, &deal(None, None, None, None)));
        let unicode = RoutingRule { industry: Some("Énergie".into()), ..rule() };
        assert!(rule_matches(&unicode, &deal(None, None, Some("énergie"), None)));
    }

    #[test]
    fn size_bounds_are_inclusive_and_open_sides_unbounded() {
        let between = RoutingRule { size_min: Some(10), size_max: Some(50), ..rule() };
        let sized = |n: i32| deal(None, None, None, Some(n));
        assert!(!rule_matches(&between, &sized(9)));
        assert!(rule_matches(&between, &sized(10)));
        assert!(rule_matches(&between, &sized(50)));
        assert!(!rule_matches(&between, &sized(51)));
        assert!(!rule_matches(&between, &deal(Some("NL"), None, None, None)), "missing size");
        let at_least = RoutingRule { size_min: Some(500), ..rule() };
        assert!(rule_matches(&at_least, &sized(i32::MAX)));
        assert!(!rule_matches(&at_least, &sized(499)));
        let at_most = RoutingRule { size_max: Some(9), ..rule() };
        assert!(rule_matches(&at_most, &sized(0)));
        assert!(rule_matches(&at_most, &sized(9)));
        assert!(!rule_matches(&at_most, &sized(10)));
    }

    #[test]
    fn all_conditions_must_hold_and_an_empty_rule_matches_nothing() {
        let both = RoutingRule { country: Some("NL".into()), postal_prefix: Some("10".into()), ..rule() };
        assert!(rule_matches(&both, &deal(Some("NL"), Some("1011AB"), None, None)));
        assert!(!rule_matches(&both, &deal(Some("BE"), Some("1011AB"), None, None)));
        assert!(!rule_matches(&both, &deal(Some("NL"), Some("3011AB"), None, None)));
        assert!(!rule_matches(&rule(), &deal(Some("NL"), Some("1011AB"), Some("x"), Some(1))));
    }

    #[test]
    fn routing_prefers_depth_then_priority_then_smallest_id() {
        // 1 Benelux ─┬─ 2 Netherlands ── 4 Amsterdam
        //            └─ 3 Belgium
        // 5 Enterprise (separate root), 6 and 7 (separate roots)
        let tree = TeamTree::new([
            (id(1), None),
            (id(2), Some(id(1))),
            (id(3), Some(id(1))),
            (id(4), Some(id(2))),
            (id(5), None),
            (id(6), None),
            (id(7), None),
        ]);
        let t = |n: u128, rules: Vec<RoutingRule>| TerritoryRules { territory_id: id(n), rules };
        let prefix = |p: &str, priority: i32| RoutingRule { postal_prefix: Some(p.into()), priority, ..rule() };
        let territories = vec![
            t(1, vec![country("NL"), country("BE"), country("LU")]),
            t(2, vec![country("NL")]),
            t(3, vec![country("BE")]),
            t(4, vec![prefix("10", 0)]),
            t(5, vec![RoutingRule { size_min: Some(1000), priority: 1000, ..rule() }]),
        ];
        let amsterdam = deal(Some("NL"), Some("1011 ab"), None, Some(20));
        assert_eq!(route(&amsterdam, &territories, &tree), Some(id(4)), "deepest wins");
        let utrecht = deal(Some("NL"), Some("3511"), None, Some(20));
        assert_eq!(route(&utrecht, &territories, &tree), Some(id(2)));
        let luxembourg = deal(Some("LU"), None, None, None);
        assert_eq!(route(&luxembourg, &territories, &tree), Some(id(1)));
        // Depth beats a higher priority on a shallower territory.
        let big_amsterdam = deal(Some("NL"), Some("1011"), None, Some(5000));
        assert_eq!(route(&big_amsterdam, &territories, &tree), Some(id(4)));
        let big_french = deal(Some("FR"), None, None, Some(5000));
        assert_eq!(route(&big_french, &territories, &tree), Some(id(5)));
        assert_eq!(route(&deal(Some("FR"), None, None, Some(5)), &territories, &tree), None);
        assert_eq!(route(&amsterdam, &[], &tree), None);

        // Equal depth: the best matching rule's priority decides, in any input order.
        let mut rivals =
            vec![t(6, vec![prefix("1", 5), prefix("10", -3)]), t(7, vec![prefix("10", 4), prefix("2", 100)])];
        assert_eq!(route(&amsterdam, &rivals, &tree), Some(id(6)));
        rivals.reverse();
        assert_eq!(route(&amsterdam, &rivals, &tree), Some(id(6)));
        // A non-matching rule's priority does not count.
        assert_eq!(route(&deal(None, Some("2000"), None, None), &rivals, &tree), Some(id(7)));

        // Equal depth and priority: the smallest ID.
        let mut tied = vec![t(7, vec![prefix("10", 1)]), t(6, vec![prefix("1", 1)])];
        assert_eq!(route(&amsterdam, &tied, &tree), Some(id(6)));
        tied.reverse();
        assert_eq!(route(&amsterdam, &tied, &tree), Some(id(6)));
        // A territory missing from the tree counts as a root.
        let orphan = vec![t(99, vec![prefix("10", 0)]), t(2, vec![country("NL")])];
        assert_eq!(route(&amsterdam, &orphan, &tree), Some(id(2)));
    }

    fn span(
        territory: u128,
        member: u128,
        role: AssignmentRole,
        from: NaiveDate,
        to: Option<NaiveDate>,
    ) -> AssignmentSpan {
        AssignmentSpan { territory_id: id(territory), member_id: id(member), role, from, to }
    }

    #[test]
    fn activity_and_overlap_use_inclusive_ends() {
        use AssignmentRole::*;
        let q1 = span(1, 1, Owner, date(2026, 1, 1), Some(date(2026, 3, 31)));
        assert!(!is_active_on(&q1, date(2025, 12, 31)));
        assert!(is_active_on(&q1, date(2026, 1, 1)));
        assert!(is_active_on(&q1, date(2026, 3, 31)));
        assert!(!is_active_on(&q1, date(2026, 4, 1)));
        let open = span(1, 2, Owner, date(2026, 4, 1), None);
        assert!(is_active_on(&open, date(2099, 1, 1)));
        assert!(!is_active_on(&open, date(2026, 3, 31)));

        assert!(!spans_overlap(&q1, &open), "adjacent edges do not overlap");
        assert!(!spans_overlap(&open, &q1));
        let same_day = span(1, 2, Owner, date(2026, 3, 31), Some(date(2026, 3, 31)));
        assert!(spans_overlap(&q1, &same_day), "sharing the last day overlaps");
        assert!(spans_overlap(&same_day, &q1));
        let one_day = span(1, 3, Overlay, date(2026, 2, 10), Some(date(2026, 2, 10)));
        assert!(spans_overlap(&q1, &one_day), "inside");
        let open_before = span(1, 3, Overlay, date(2025, 1, 1), None);
        assert!(spans_overlap(&open_before, &q1));
        assert!(spans_overlap(&open_before, &open), "two open spans always overlap");
        let before = span(1, 3, Overlay, date(2025, 1, 1), Some(date(2025, 12, 31)));
        assert!(!spans_overlap(&before, &q1));
    }

    #[test]
    fn assignment_checks() {
        use AssignmentRole::*;
        let existing = vec![
            span(1, 1, Owner, date(2026, 1, 1), Some(date(2026, 3, 31))),
            span(1, 2, Overlay, date(2026, 1, 1), None),
            span(2, 3, Owner, date(2026, 1, 1), None),
        ];
        // A new owner from the day after the old one's last day.
        assert_eq!(check_assignment(&span(1, 3, Owner, date(2026, 4, 1), None), &existing), Ok(()));
        // Overlays may overlap owners and each other.
        assert_eq!(check_assignment(&span(1, 4, Overlay, date(2026, 2, 1), None), &existing), Ok(()));
        // Another territory's owner is no obstacle.
        assert_eq!(check_assignment(&span(2, 1, Overlay, date(2026, 2, 1), None), &existing), Ok(()));
        // One-day span equal from and to is fine.
        assert_eq!(check_assignment(&span(3, 1, Owner, date(2026, 2, 1), Some(date(2026, 2, 1))), &existing), Ok(()));

        let e = check_assignment(&span(1, 3, Owner, date(2026, 3, 31), None), &existing).expect_err("overlap");
        assert_eq!((e.field.clone(), e.code), (vec!["input".to_owned(), "from".to_owned()], "OWNER_OVERLAP"));
        assert!(e.message.contains("2026-01-01") && e.message.contains("2026-03-31"), "{}", e.message);
        let e = check_assignment(&span(2, 4, Owner, date(2030, 1, 1), Some(date(2030, 1, 2))), &existing)
            .expect_err("open-ended owner");
        assert_eq!(e.code, "OWNER_OVERLAP");
        assert!(e.message.contains("open-ended"), "{}", e.message);

        let e = check_assignment(&span(1, 2, Owner, date(2026, 6, 1), None), &existing).expect_err("twice");
        assert_eq!((e.field.last().map(String::as_str), e.code), (Some("memberId"), "DUPLICATE"));
        let e = check_assignment(&span(1, 1, Overlay, date(2026, 3, 1), Some(date(2026, 3, 31))), &existing)
            .expect_err("twice");
        assert_eq!(e.code, "DUPLICATE");
        // The same member again after their span ended is fine.
        assert_eq!(check_assignment(&span(1, 1, Overlay, date(2026, 4, 1), None), &existing), Ok(()));

        let e = check_assignment(&span(1, 9, Overlay, date(2026, 4, 1), Some(date(2026, 3, 31))), &existing)
            .expect_err("backwards");
        assert_eq!((e.field.last().map(String::as_str), e.code), (Some("to"), "INVALID"));
    }

    #[test]
    fn coverage_on_a_day() {
        use AssignmentRole::*;
        let spans = vec![
            span(1, 1, Owner, date(2026, 1, 1), Some(date(2026, 3, 31))),
            span(2, 2, Overlay, date(2026, 1, 1), None),
            span(3, 3, Owner, date(2026, 4, 1), None),
            span(4, 4, Owner, date(2026, 1, 1), None),
        ];
        let territories = [id(4), id(3), id(2), id(1), id(3)];
        let reps = [id(5), id(3), id(2), id(1), id(5)];
        let march = coverage(&territories, &spans, &reps, date(2026, 3, 31));
        assert_eq!(march.territories_without_owner, vec![id(2), id(3)]);
        assert_eq!(march.members_without_territory, vec![id(3), id(5)], "an overlay counts as covered");
        let april = coverage(&territories, &spans, &reps, date(2026, 4, 1));
        assert_eq!(april.territories_without_owner, vec![id(1), id(2)]);
        assert_eq!(april.members_without_territory, vec![id(1), id(5)]);
        assert_eq!(coverage(&[], &[], &[], date(2026, 1, 1)), Coverage::default());
    }
}
