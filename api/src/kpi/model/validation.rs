//! Input validation for KPI definitions: keys, activity KPI keys, ratio operands, numbers, and
//! refusing edits of built-ins.

use rust_decimal::Decimal;

use super::{ACTIVITY_KPI_KEYS, BuiltInKpi, KpiShape, KpiUnit, Pooling};
use crate::core::field::FieldError;

// ---------------------------------------------------------------------------------------------
// Input validation
// ---------------------------------------------------------------------------------------------

/// Longest KPI key.
pub const MAX_KPI_KEY_LEN: usize = 64;
/// Largest KPI number (target or self-reported value): ten billion.
pub const MAX_KPI_NUMBER: i64 = 10_000_000_000;

/// A custom KPI's key: trimmed, 2..=64 of `a-z`, `0-9`, `_`, starting with a letter, and not a
/// built-in's key.
pub fn parse_kpi_key(raw: &str) -> Result<String, FieldError> {
    let key = raw.trim();
    let well_formed = (2..=MAX_KPI_KEY_LEN).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !well_formed {
        return Err(FieldError::new(
            "key",
            "INVALID",
            format!("must be 2 to {MAX_KPI_KEY_LEN} characters of a-z, 0-9 and '_', starting with a letter"),
        ));
    }
    if BuiltInKpi::from_key(key).is_some() {
        return Err(FieldError::new("key", "RESERVED", format!("'{key}' is a built-in KPI")));
    }
    Ok(key.to_owned())
}

/// Refuses archiving a built-in KPI (whose definition is fixed, and which has no row to
/// change) with a message naming what can be changed instead; `None` for any other key.
pub fn refuse_builtin_archive(key: &str) -> Option<FieldError> {
    let builtin = BuiltInKpi::from_key(key)?;
    Some(FieldError::new(
        "key",
        "BUILT_IN",
        format!(
            "'{}' is the built-in KPI \"{}\": built-in KPIs cannot be archived. archiveKpi archives custom KPIs \
             (made with createKpi); a built-in can be renamed for your organization (updateKpi), and you can \
             set its weekly targets (setKpiTarget) and alert rules (createAlertRule)",
            builtin.key(),
            builtin.name()
        ),
    ))
}

/// An activity type's KPI key: empty is none; otherwise one of [`ACTIVITY_KPI_KEYS`].
pub fn parse_activity_kpi_key(raw: Option<&str>) -> Result<Option<&'static str>, FieldError> {
    let Some(key) = raw.map(str::trim).filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    ACTIVITY_KPI_KEYS
        .into_iter()
        .find(|k| *k == key)
        .map(Some)
        .ok_or_else(|| FieldError::new("kpiKey", "INVALID", format!("must be one of {}", ACTIVITY_KPI_KEYS.join(", "))))
}

/// A RATIO's operands: two different KPIs whose values add up across members and weeks
/// ([`Pooling::Sum`]), so the ratio pools as team numerator ÷ team denominator. A ratio of
/// ratios or means (or of a ratio, which rules out cycles) is refused.
pub fn check_ratio_operands(
    numerator_key: &str,
    numerator: &KpiShape,
    denominator_key: &str,
    denominator: &KpiShape,
) -> Result<(), FieldError> {
    if numerator_key == denominator_key {
        return Err(FieldError::new("denominatorKey", "INVALID", "must differ from the numerator"));
    }
    for (field, shape) in [("numeratorKey", numerator), ("denominatorKey", denominator)] {
        if shape.pooling != Pooling::Sum {
            return Err(FieldError::new(field, "NOT_ADDITIVE", "must be a count or sum, not a ratio or mean"));
        }
    }
    Ok(())
}

/// A KPI number from the API (a target or a self-reported value): finite, `0..=MAX_KPI_NUMBER`
/// (PERCENT: `0..=100`), at most 2 decimal places for MONEY and 4 otherwise. Float noise such as
/// `0.30000000000000004` is accepted as `0.3`.
pub fn parse_kpi_number(field: &str, value: f64, unit: KpiUnit) -> Result<Decimal, FieldError> {
    if !value.is_finite() {
        return Err(FieldError::new(field, "INVALID", "must be a finite number"));
    }
    let max = if unit == KpiUnit::Percent { 100 } else { MAX_KPI_NUMBER };
    if value < 0.0 || value > max as f64 {
        return Err(FieldError::new(field, "OUT_OF_RANGE", format!("must be between 0 and {max}")));
    }
    let places: u32 = if unit == KpiUnit::Money { 2 } else { 4 };
    let factor = 10f64.powi(places as i32);
    let scaled = (value * factor).round();
    // At most 1e10 × 1e4 = 1e14 < 2^53: the scaled value is an exact integer.
    let noise = (value * 4.0 * f64::EPSILON).max(1e-9);
    if (value - scaled / factor).abs() > noise {
        return Err(FieldError::new(field, "INVALID", format!("must have at most {places} decimal places")));
    }
    Ok(Decimal::new(scaled as i64, places).normalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::kpi::model::{BuiltInKpi, KpiDirection, KpiKind, KpiShape, KpiUnit};

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    // ----- validation -----

    #[test]
    fn kpi_keys() {
        assert_eq!(parse_kpi_key("  selling_time ").as_deref(), Ok("selling_time"));
        assert_eq!(parse_kpi_key("q2_demos").as_deref(), Ok("q2_demos"));
        for bad in ["", "x", "Selling", "2calls", "_calls", "selling-time", "selling time", "ë", &"a".repeat(65)] {
            assert_eq!(parse_kpi_key(bad).map_err(|e| e.code), Err("INVALID"), "{bad}");
        }
        assert_eq!(parse_kpi_key(&"a".repeat(64)).map(|k| k.len()), Ok(64));
        assert_eq!(parse_kpi_key("close_rate").map_err(|e| e.code), Err("RESERVED"));
        let refused = refuse_builtin_archive("new_leads").expect("a built-in is refused");
        assert_eq!((refused.code, refused.field.join(".")), ("BUILT_IN", "input.key".to_owned()));
        assert!(
            refused.message.contains("setKpiTarget") && refused.message.contains("createKpi"),
            "{}",
            refused.message
        );
        assert!(refuse_builtin_archive("forecast_accuracy").is_some());
        assert!(refuse_builtin_archive("selling_time").is_none());
    }

    #[test]
    fn activity_kpi_keys() {
        assert_eq!(parse_activity_kpi_key(None), Ok(None));
        assert_eq!(parse_activity_kpi_key(Some("  ")), Ok(None));
        assert_eq!(parse_activity_kpi_key(Some(" calls ")), Ok(Some("calls")));
        assert_eq!(parse_activity_kpi_key(Some("quotes_sent")), Ok(Some("quotes_sent")));
        assert_eq!(parse_activity_kpi_key(Some("appointments")), Ok(Some("appointments")));
        assert_eq!(parse_activity_kpi_key(Some("emails")).map_err(|e| e.code), Err("INVALID"));
    }

    #[test]
    fn ratio_operands_must_add_up() {
        let up = KpiDirection::HigherIsBetter;
        let calls = KpiShape::custom(KpiKind::ActivityCount, KpiUnit::Count, up).expect("shape");
        let appointments = calls;
        assert!(check_ratio_operands("appointments_set", &appointments, "calls_made", &calls).is_ok());
        assert!(check_ratio_operands("revenue", &BuiltInKpi::Revenue.shape(), "calls_made", &calls).is_ok());
        let same = check_ratio_operands("calls_made", &calls, "calls_made", &calls);
        assert_eq!(same.map_err(|e| e.field), Err(vec!["input".to_owned(), "denominatorKey".to_owned()]));
        let of_rate = check_ratio_operands("close_rate", &BuiltInKpi::CloseRate.shape(), "calls_made", &calls);
        assert_eq!(of_rate.map_err(|e| (e.code, e.field[1].clone())), Err(("NOT_ADDITIVE", "numeratorKey".to_owned())));
        let by_mean = check_ratio_operands(
            "revenue",
            &BuiltInKpi::Revenue.shape(),
            "cycle",
            &BuiltInKpi::SalesCycleLength.shape(),
        );
        assert_eq!(by_mean.map_err(|e| e.field[1].clone()), Err("denominatorKey".to_owned()));
        let ratio = KpiShape::custom(KpiKind::Ratio, KpiUnit::Rate, up).expect("shape");
        assert!(check_ratio_operands("a_ratio", &ratio, "calls_made", &calls).is_err());
        let forecast = BuiltInKpi::ForecastAccuracy.shape();
        assert!(check_ratio_operands("forecast_accuracy", &forecast, "calls_made", &calls).is_err());
    }

    #[test]
    fn kpi_numbers() {
        assert_eq!(parse_kpi_number("perWeek", 25.0, KpiUnit::Percent), Ok(d("25")));
        assert_eq!(parse_kpi_number("perWeek", 0.1 + 0.2, KpiUnit::Percent), Ok(d("0.3")));
        assert_eq!(parse_kpi_number("perWeek", 12.3456, KpiUnit::Hours), Ok(d("12.3456")));
        assert_eq!(parse_kpi_number("perWeek", 2500.5, KpiUnit::Money), Ok(d("2500.5")));
        assert_eq!(parse_kpi_number("perWeek", 0.0, KpiUnit::Count), Ok(d("0")));
        assert_eq!(parse_kpi_number("perWeek", 1e10, KpiUnit::Money), Ok(d("10000000000")));
        assert_eq!(parse_kpi_number("perWeek", 100.0, KpiUnit::Percent), Ok(d("100")));
        let code = |v: f64, unit| parse_kpi_number("value", v, unit).map_err(|e| e.code);
        assert_eq!(code(100.01, KpiUnit::Percent), Err("OUT_OF_RANGE"));
        assert_eq!(code(-1.0, KpiUnit::Count), Err("OUT_OF_RANGE"));
        assert_eq!(code(1e10 + 1.0, KpiUnit::Count), Err("OUT_OF_RANGE"));
        assert_eq!(code(f64::NAN, KpiUnit::Count), Err("INVALID"));
        assert_eq!(code(f64::INFINITY, KpiUnit::Count), Err("INVALID"));
        assert_eq!(code(1.005, KpiUnit::Money), Err("INVALID"));
        assert_eq!(code(1.00005, KpiUnit::Rate), Err("INVALID"));
        assert_eq!(parse_kpi_number("value", 1.0, KpiUnit::Count).map(|v| v.to_string()), Ok("1".to_owned()));
        assert_eq!(parse_kpi_number("value", -0.0, KpiUnit::Count), Ok(d("0")));
    }
}
