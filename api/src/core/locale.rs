//! The languages the API answers in (Dutch and English), which one a request gets, and the
//! display labels of the enum values front ends show. Codes stay stable English identifiers;
//! only names and labels are translated.

use async_graphql::Enum;

/// A language of the API's names and labels.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    /// English.
    #[default]
    En,
    /// Dutch.
    Nl,
}

impl Locale {
    /// The stored form (`en`, `nl`).
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Nl => "nl",
        }
    }

    /// Parses the stored form or a language tag (`nl`, `nl-NL`, `EN-gb`); others are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        let primary = s.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Locale::En),
            "nl" => Some(Locale::Nl),
            _ => None,
        }
    }

    /// The preferred supported language of an `Accept-Language` header, by quality (ties in
    /// the order given); `None` when it names neither.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(Locale, f32)> = None;
        for part in header.split(',').take(32) {
            let mut pieces = part.split(';');
            let Some(locale) = pieces.next().and_then(Locale::parse) else { continue };
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
                best = Some((locale, q));
            }
        }
        best.map(|(l, _)| l)
    }
}

/// The display label of an enum value (its GraphQL name, e.g. `SALES_ROLE`/`CLOSER`) in a
/// language; `None` for values without one.
pub fn label(enum_name: &str, value: &str, locale: Locale) -> Option<&'static str> {
    let (en, nl) = match (enum_name, value) {
        ("Role", "ADMIN") => ("Admin", "Beheerder"),
        ("Role", "MANAGER") => ("Manager", "Manager"),
        ("Role", "REP") => ("Sales rep", "Verkoper"),
        ("Role", "VIEWER") => ("Viewer", "Meekijker"),
        ("SalesRole", "INBOUND") => ("Inbound", "Inbound"),
        ("SalesRole", "OUTBOUND") => ("Outbound", "Outbound"),
        ("SalesRole", "CLOSER") => ("Closer", "Closer"),
        ("SalesRole", "MANAGER") => ("Sales manager", "Salesmanager"),
        ("KpiStatus", "ON_TARGET") => ("On target", "Op doel"),
        ("KpiStatus", "OFF_TARGET") => ("Off target", "Onder doel"),
        ("KpiStatus", "NO_TARGET") => ("No target", "Geen doel"),
        ("KpiDirection", "HIGHER_IS_BETTER") => ("Higher is better", "Hoger is beter"),
        ("KpiDirection", "LOWER_IS_BETTER") => ("Lower is better", "Lager is beter"),
        ("ClientStatus", "ACTIVE") => ("Active", "Actief"),
        ("ClientStatus", "SUSPENDED") => ("Suspended", "Opgeschort"),
        ("ClientStatus", "DELETION_PENDING") => ("Deletion pending", "Wordt verwijderd"),
        _ => return None,
    };
    Some(match locale {
        Locale::En => en,
        Locale::Nl => nl,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_stored_forms_parse() {
        assert_eq!(Locale::parse("nl"), Some(Locale::Nl));
        assert_eq!(Locale::parse("nl-BE"), Some(Locale::Nl));
        assert_eq!(Locale::parse("EN_gb"), Some(Locale::En));
        assert_eq!(Locale::parse("de"), None);
        assert_eq!(Locale::parse(""), None);
        for l in [Locale::En, Locale::Nl] {
            assert_eq!(Locale::parse(l.as_str()), Some(l));
        }
    }

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(Locale::from_accept_language("nl-NL,nl;q=0.9,en;q=0.8"), Some(Locale::Nl));
        assert_eq!(Locale::from_accept_language("de-DE,de;q=0.9,en;q=0.5,nl;q=0.7"), Some(Locale::Nl));
        assert_eq!(Locale::from_accept_language("en;q=0.5, nl;q=0.5"), Some(Locale::En), "ties: the first");
        assert_eq!(Locale::from_accept_language("nl;q=0, en"), Some(Locale::En), "q=0 is refused");
        assert_eq!(Locale::from_accept_language("fr, de"), None);
        assert_eq!(Locale::from_accept_language("*"), None);
        assert_eq!(Locale::from_accept_language("nl;q=abc"), Some(Locale::Nl), "a bad q counts as 1");
    }

    #[test]
    fn labels_exist_in_both_languages_and_codes_have_none() {
        assert_eq!(label("Role", "REP", Locale::Nl), Some("Verkoper"));
        assert_eq!(label("Role", "REP", Locale::En), Some("Sales rep"));
        assert_eq!(label("KpiStatus", "ON_TARGET", Locale::Nl), Some("Op doel"));
        assert_eq!(label("Role", "OWNER", Locale::Nl), None);
        assert_eq!(label("Nothing", "REP", Locale::En), None);
    }
}
