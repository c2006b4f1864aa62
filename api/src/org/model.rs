//! Organization structure rules: roles, validation of organization, team and member
//! fields, and the team tree (subtrees, cycles). Pure functions, no I/O.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

pub use crate::core::field::{
    FieldError, MAX_NAME_LEN, check_name_characters, is_forbidden_in_name, parse_free_text, parse_name,
};
pub use crate::core::ids::OrgId;
pub use crate::core::roles::{Role, SalesRole};

/// An e-mail address, lower-cased: one `@`, a non-empty local part, a dotted domain,
/// no spaces, at most 254 characters. (Deliverability is the identity provider's concern.)
pub fn parse_email(raw: &str) -> Result<String, FieldError> {
    let email = raw.trim().to_lowercase();
    let invalid = || FieldError::new("email", "INVALID", "is not a valid e-mail address");
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    if local.is_empty()
        || local.len() > 64
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
        || domain.starts_with('-')
    {
        return Err(invalid());
    }
    Ok(email)
}

/// An organization slug: 2..=63 of `a-z`, `0-9`, `-`, not starting or ending with `-`.
pub fn parse_slug(raw: &str) -> Result<String, FieldError> {
    let slug = raw.trim();
    let ok = (2..=63).contains(&slug.len())
        && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(slug.to_owned())
    } else {
        Err(FieldError::new(
            "slug",
            "INVALID",
            "must be 2 to 63 characters of a-z, 0-9 and '-', not starting or ending with '-'",
        ))
    }
}

/// A host name a front end is served on: lower case, without a trailing dot, a DNS name of at
/// least two labels (or `localhost`, or an IPv4 address), optionally with `:port`.
pub fn parse_host(raw: &str) -> Result<String, FieldError> {
    let invalid =
        || FieldError::new("host", "INVALID", "must be a host name such as scores.acme.nl (optionally with :port)");
    let host = raw.trim().to_lowercase();
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => {
            let port: u16 = port.parse().map_err(|_| invalid())?;
            if port == 0 {
                return Err(invalid());
            }
            (name.trim_end_matches('.'), Some(port))
        }
        None => (host.trim_end_matches('.'), None),
    };
    if name.is_empty() || name.len() > 253 {
        return Err(invalid());
    }
    let is_ip = name.parse::<std::net::Ipv4Addr>().is_ok();
    let labels: Vec<&str> = name.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !is_ip && !(labels.iter().all(label_ok) && (labels.len() >= 2 || name == "localhost")) {
        return Err(invalid());
    }
    Ok(match port {
        Some(p) => format!("{name}:{p}"),
        None => name.to_owned(),
    })
}

/// An IANA time zone name such as `Europe/Amsterdam`.
pub fn parse_time_zone(raw: &str) -> Result<chrono_tz::Tz, FieldError> {
    raw.trim()
        .parse::<chrono_tz::Tz>()
        .map_err(|_| FieldError::new("timeZone", "INVALID", format!("'{raw}' is not an IANA time zone")))
}

/// An ISO 4217 currency code such as `EUR`, returned upper-case.
pub fn parse_currency(raw: &str) -> Result<String, FieldError> {
    let code = raw.trim().to_ascii_uppercase();
    match iso_currency::Currency::from_code(&code) {
        Some(_) => Ok(code),
        None => Err(FieldError::new("currency", "INVALID", format!("'{raw}' is not an ISO 4217 currency code"))),
    }
}

/// A colour as `#RRGGBB`, returned upper-case.
pub fn parse_color(field: &str, raw: &str) -> Result<String, FieldError> {
    let c = raw.trim();
    let ok = c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit());
    if ok {
        Ok(c.to_ascii_uppercase())
    } else {
        Err(FieldError::new(field, "INVALID", "must be a colour like #1A2B3C"))
    }
}

/// An organization's logo: see [`parse_image_url`].
pub fn parse_logo_url(raw: &str) -> Result<String, FieldError> {
    parse_image_url("logoUrl", raw)
}

/// A picture's address (a logo, an avatar): an absolute `https` or `http` URL of at most 2,000
/// characters.
pub fn parse_image_url(field: &str, raw: &str) -> Result<String, FieldError> {
    let invalid = || FieldError::new(field, "INVALID", "must be an absolute http(s) URL");
    let s = raw.trim();
    if s.len() > 2000 {
        return Err(invalid());
    }
    let url = url::Url::parse(s).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid());
    }
    Ok(url.to_string())
}

/// The first month of the fiscal year, 1 (January) to 12.
pub fn parse_fiscal_month(month: i32) -> Result<i32, FieldError> {
    if (1..=12).contains(&month) {
        Ok(month)
    } else {
        Err(FieldError::new("fiscalYearStartMonth", "INVALID", "must be between 1 and 12"))
    }
}

/// A member's start date: not before 1900 and at most a year ahead.
pub fn check_start_date(date: chrono::NaiveDate) -> Result<(), FieldError> {
    let earliest = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(chrono::NaiveDate::MIN);
    let latest = chrono::Utc::now().date_naive() + chrono::Duration::days(366);
    if date < earliest || date > latest {
        return Err(FieldError::new("startDate", "OUT_OF_RANGE", "must be between 1900-01-01 and a year from today"));
    }
    Ok(())
}

/// A calendar day stored as business data (a deal's dates, a quota's or forecast's period):
/// 1900-01-01 to 2100-12-31. Year 0 or 9999 is a typo or a probe, and periods near the ends of
/// the calendar would overflow date arithmetic.
pub fn check_business_date(field: &str, date: chrono::NaiveDate) -> Result<(), FieldError> {
    let earliest = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(chrono::NaiveDate::MIN);
    let latest = chrono::NaiveDate::from_ymd_opt(2100, 12, 31).unwrap_or(chrono::NaiveDate::MAX);
    if date < earliest || date > latest {
        return Err(FieldError::new(field, "OUT_OF_RANGE", "must be between 1900-01-01 and 2100-12-31"));
    }
    Ok(())
}

/// How many days back activities may be logged: 1 to 3660.
pub fn parse_open_window_days(days: i32) -> Result<i32, FieldError> {
    if (1..=3660).contains(&days) {
        Ok(days)
    } else {
        Err(FieldError::new("activityOpenWindowDays", "OUT_OF_RANGE", "must be between 1 and 3660 days"))
    }
}

/// The team tree of one organization, as `team -> parent`.
#[derive(Debug, Default, Clone)]
pub struct TeamTree {
    parent: HashMap<Uuid, Option<Uuid>>,
}

impl TeamTree {
    /// Builds the tree from `(team, parent)` pairs.
    pub fn new(edges: impl IntoIterator<Item = (Uuid, Option<Uuid>)>) -> Self {
        TeamTree { parent: edges.into_iter().collect() }
    }

    /// Whether the team exists in this tree.
    pub fn contains(&self, team: Uuid) -> bool {
        self.parent.contains_key(&team)
    }

    /// The given teams and every team below them.
    pub fn subtree(&self, roots: impl IntoIterator<Item = Uuid>) -> HashSet<Uuid> {
        let mut children: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (&team, parent) in &self.parent {
            if let Some(p) = parent {
                children.entry(*p).or_default().push(team);
            }
        }
        let mut seen = HashSet::new();
        let mut stack: Vec<Uuid> = roots.into_iter().filter(|r| self.contains(*r)).collect();
        while let Some(team) = stack.pop() {
            if seen.insert(team)
                && let Some(kids) = children.get(&team)
            {
                stack.extend(kids.iter().copied());
            }
        }
        seen
    }

    /// Whether making `new_parent` the parent of `team` would close a loop
    /// (the new parent is the team itself or lies below it).
    pub fn would_create_cycle(&self, team: Uuid, new_parent: Uuid) -> bool {
        self.subtree([team]).contains(&new_parent)
    }

    /// The path from `team` up to its root, the team first.
    pub fn ancestors(&self, team: Uuid) -> Vec<Uuid> {
        let mut path = Vec::new();
        let mut current = Some(team);
        while let Some(t) = current {
            if path.contains(&t) {
                break; // a corrupt tree must not hang a request
            }
            path.push(t);
            current = self.parent.get(&t).copied().flatten();
        }
        path
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn free_text_keeps_line_breaks_and_tabs_only() {
        assert_eq!(parse_free_text("d", None, 10), Ok(None));
        assert_eq!(parse_free_text("d", Some("   "), 10), Ok(None));
        assert_eq!(parse_free_text("d", Some(" a\tb\r\nc "), 10), Ok(Some("a\tb\r\nc".to_owned())));
        assert_eq!(parse_free_text("d", Some("ĳĳĳĳĳ"), 5), Ok(Some("ĳĳĳĳĳ".to_owned())), "characters, not bytes");
        assert_eq!(parse_free_text("d", Some("abcdef"), 5).unwrap_err().code, "TOO_LONG");
        for bad in ["\u{0}", "\u{7}", "\u{1b}[31m", "x\u{7f}", "a\u{85}b", "\u{9f}"] {
            let err = parse_free_text("d", Some(bad), 50).unwrap_err();
            assert_eq!((err.code, err.message.contains("control")), ("INVALID", true), "{bad:?}");
        }
    }

    use super::*;
    use crate::core::field::INVISIBLE_LETTERS_AND_MARKS;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn roles_round_trip_and_reject_unknown() {
        for r in [Role::Admin, Role::Manager, Role::Rep, Role::Viewer] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for r in [SalesRole::Inbound, SalesRole::Outbound, SalesRole::Closer, SalesRole::Manager] {
            assert_eq!(SalesRole::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("admin"), None);
        assert_eq!(SalesRole::parse(""), None);
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("name", "  Sales  ").as_deref(), Ok("Sales"));
        assert_eq!(parse_name("name", "   ").map_err(|e| e.code), Err("REQUIRED"));
        assert_eq!(parse_name("name", &"x".repeat(200)).map(|s| s.len()), Ok(200));
        assert_eq!(parse_name("name", &"x".repeat(201)).map_err(|e| e.code), Err("TOO_LONG"));
        assert_eq!(parse_name("name", "a\u{0}b").map_err(|e| e.code), Err("INVALID"));
        assert_eq!(parse_name("name", "Zoë <b>&'\"").as_deref(), Ok("Zoë <b>&'\""));
        let err = parse_name("teamName", "").unwrap_err();
        assert_eq!(err.field, vec!["input", "teamName"]);
    }

    #[test]
    fn names_refuse_bidi_and_invisible_characters() {
        let bidi = [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
            '\u{200E}', '\u{200F}', '\u{061C}',
        ];
        let invisible = [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{2060}',
            '\u{2061}',
            '\u{2062}',
            '\u{2063}',
            '\u{2064}',
            '\u{FEFF}',
            '\u{180E}',
            '\u{00AD}',
            '\u{034F}',
            '\u{115F}',
            '\u{1160}',
            '\u{3164}',
            '\u{FFA0}',
            '\u{17B4}',
            '\u{17B5}',
            '\u{2028}',
            '\u{2029}',
            '\u{E0001}',
            '\u{E0041}',
            '\u{FFF9}',
            '\u{206A}',
            '\u{2800}',
            '\u{E000}',
            '\u{10FFFD}',
        ];
        for c in bidi.into_iter().chain(invisible) {
            // White space at either end is trimmed away; inside a name it is refused.
            let ends = if c.is_whitespace() { vec![] } else { vec![format!("{c}Jan"), format!("Jan{c}")] };
            for name in ends.into_iter().chain([format!("Jan{c}nimda")]) {
                let err = parse_name("name", &name).expect_err(&format!("{c:?} must be refused"));
                assert_eq!(err.code, "INVALID", "{c:?}");
                assert_eq!(err.field, vec!["input", "name"]);
                assert!(err.message.contains(&format!("U+{:04X}", u32::from(c))), "{c:?}: {}", err.message);
            }
        }
    }

    #[test]
    fn every_format_character_below_the_supplementary_planes_is_refused() {
        use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
        let mut refused = 0;
        for c in (0..=0xFFFFu32).filter_map(char::from_u32) {
            let category = c.general_category();
            if matches!(
                category,
                GeneralCategory::Format
                    | GeneralCategory::Control
                    | GeneralCategory::LineSeparator
                    | GeneralCategory::ParagraphSeparator
            ) {
                assert!(is_forbidden_in_name(c), "{c:?}");
                refused += 1;
            }
            if matches!(
                category,
                GeneralCategory::UppercaseLetter
                    | GeneralCategory::LowercaseLetter
                    | GeneralCategory::DecimalNumber
                    | GeneralCategory::SpaceSeparator
            ) && !INVISIBLE_LETTERS_AND_MARKS.contains(&c)
            {
                assert!(!is_forbidden_in_name(c), "{c:?} is visible text");
            }
        }
        assert!(refused > 100, "{refused}");
    }

    #[test]
    fn names_keep_scripts_accents_and_emoji() {
        for name in [
            "Zoë Ørsted",
            "محمد علي",
            "שרה כהן",
            "山田 太郎",
            "Ἀθηνᾶ",
            "Łukasz Żółć",
            "Team 🚀",
            "O'Brien-Smith",
            "नमस्ते",
        ] {
            assert_eq!(parse_name("name", name).as_deref(), Ok(name), "{name}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(parse_email(" Rep@Demo.Test ").as_deref(), Ok("rep@demo.test"));
        for bad in [
            "",
            "rep",
            "rep@",
            "@demo.test",
            "rep@demo",
            "a b@demo.test",
            "rep@@demo.test",
            "rep@.demo.test",
            "rep@demo.test.",
            "rep@demo..test",
            "rep@-demo.test",
        ] {
            assert!(parse_email(bad).is_err(), "{bad} should be refused");
        }
        assert!(parse_email(&format!("{}@demo.test", "a".repeat(65))).is_err());
    }

    #[test]
    fn slugs() {
        assert_eq!(parse_slug("demo").as_deref(), Ok("demo"));
        assert_eq!(parse_slug("acme-2").as_deref(), Ok("acme-2"));
        for bad in ["d", "Demo", "-demo", "demo-", "de mo", "démo", &"a".repeat(64)] {
            assert!(parse_slug(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn time_zones_currencies_colours() {
        assert!(parse_time_zone("Europe/Amsterdam").is_ok());
        assert!(parse_time_zone("Mars/Olympus").is_err());
        assert!(parse_time_zone("").is_err());
        assert_eq!(parse_currency("eur").as_deref(), Ok("EUR"));
        assert_eq!(parse_currency("USD").as_deref(), Ok("USD"));
        assert!(parse_currency("EURO").is_err());
        assert!(parse_currency("XYZ").is_err());
        assert_eq!(parse_color("primaryColor", "#ff6600").as_deref(), Ok("#FF6600"));
        for bad in ["ff6600", "#ff660", "#gg6600", "#ff66000", ""] {
            assert!(parse_color("primaryColor", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn logo_urls_and_fiscal_months() {
        assert!(parse_logo_url("https://cdn.example.com/logo.png").is_ok());
        assert!(parse_logo_url("javascript:alert(1)").is_err());
        assert!(parse_logo_url("/relative.png").is_err());
        assert!(parse_logo_url(&format!("https://x.com/{}", "a".repeat(2000))).is_err());
        assert_eq!(
            parse_image_url("avatarUrl", "data:image/png;base64,AAAA").map_err(|e| e.field),
            Err(vec!["input".to_owned(), "avatarUrl".to_owned()])
        );
        assert!(parse_image_url("avatarUrl", "https://cdn.example.com/a.png").is_ok());
        assert_eq!(parse_fiscal_month(1), Ok(1));
        assert_eq!(parse_fiscal_month(12), Ok(12));
        assert!(parse_fiscal_month(0).is_err());
        assert!(parse_fiscal_month(13).is_err());
        assert!(parse_fiscal_month(-1).is_err());
    }

    #[test]
    fn open_windows() {
        assert_eq!(parse_open_window_days(35), Ok(35));
        assert!(parse_open_window_days(1).is_ok());
        assert!(parse_open_window_days(3660).is_ok());
        assert!(parse_open_window_days(0).is_err());
        assert!(parse_open_window_days(3661).is_err());
        assert!(parse_open_window_days(-5).is_err());
    }

    #[test]
    fn start_dates() {
        let today = chrono::Utc::now().date_naive();
        assert!(check_start_date(today).is_ok());
        assert!(check_start_date(today + chrono::Duration::days(366)).is_ok());
        assert!(check_start_date(today + chrono::Duration::days(367)).is_err());
        assert!(check_start_date(chrono::NaiveDate::from_ymd_opt(1899, 12, 31).expect("date")).is_err());
        assert!(check_start_date(chrono::NaiveDate::from_ymd_opt(1900, 1, 1).expect("date")).is_ok());
        let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).expect("date");
        assert!(check_business_date("d", day(1900, 1, 1)).is_ok());
        assert!(check_business_date("d", day(2100, 12, 31)).is_ok());
        assert_eq!(check_business_date("d", day(0, 1, 1)).map_err(|e| e.code), Err("OUT_OF_RANGE"));
        assert_eq!(check_business_date("d", day(9999, 12, 31)).map_err(|e| e.code), Err("OUT_OF_RANGE"));
        assert!(check_start_date(chrono::NaiveDate::MIN).is_err());
    }

    #[test]
    fn subtree_and_cycles() {
        // 1 ─┬─ 2 ── 4
        //    └─ 3
        // 5 (separate root)
        let tree = TeamTree::new([
            (id(1), None),
            (id(2), Some(id(1))),
            (id(3), Some(id(1))),
            (id(4), Some(id(2))),
            (id(5), None),
        ]);
        assert_eq!(tree.subtree([id(1)]), HashSet::from([id(1), id(2), id(3), id(4)]));
        assert_eq!(tree.subtree([id(2)]), HashSet::from([id(2), id(4)]));
        assert_eq!(tree.subtree([id(4), id(5)]), HashSet::from([id(4), id(5)]));
        assert!(tree.subtree([id(99)]).is_empty());
        assert!(tree.would_create_cycle(id(1), id(4)));
        assert!(tree.would_create_cycle(id(2), id(2)));
        assert!(!tree.would_create_cycle(id(4), id(3)));
        assert!(!tree.would_create_cycle(id(5), id(1)));
        assert_eq!(tree.ancestors(id(4)), vec![id(4), id(2), id(1)]);
    }

    #[test]
    fn corrupt_tree_does_not_hang() {
        let tree = TeamTree::new([(id(1), Some(id(2))), (id(2), Some(id(1)))]);
        assert_eq!(tree.ancestors(id(1)), vec![id(1), id(2)]);
        assert_eq!(tree.subtree([id(1)]).len(), 2);
    }

    #[test]
    fn hosts_are_names_of_two_labels_or_more_with_an_optional_port() {
        assert_eq!(parse_host(" Scores.ACME.nl. ").unwrap(), "scores.acme.nl");
        assert_eq!(parse_host("scores.acme.nl:8443").unwrap(), "scores.acme.nl:8443");
        assert_eq!(parse_host("localhost:3000").unwrap(), "localhost:3000");
        assert_eq!(parse_host("127.0.0.1:3000").unwrap(), "127.0.0.1:3000");
        for bad in [
            "",
            "acme",
            "-a.nl",
            "a-.nl",
            "a..nl",
            "a.nl:0",
            "a.nl:70000",
            "a.nl:x",
            "ac me.nl",
            "a_b.nl",
            "https://a.nl",
        ] {
            assert!(parse_host(bad).is_err(), "{bad}");
        }
        assert!(parse_host(&format!("{}.nl", "a".repeat(64))).is_err(), "a label over 63");
    }
}
