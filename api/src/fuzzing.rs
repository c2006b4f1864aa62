//! Fuzz targets: the parsers that read untrusted input, each as one function from bytes that
//! panics when an invariant breaks. The cargo-fuzz targets in `fuzz/` call these; the unit
//! test below replays the committed seeds (`fuzz/seeds/<target>/`) and every input a fuzzer once crashed on
//! (`fuzz/regressions/<target>/`), so fixed crashes stay fixed in `cargo test`.
//!
//! Not part of the API: hidden from the docs, kept public only for the fuzz crate.

use std::collections::HashSet;

use async_graphql::ID;
use async_graphql::http::WebSocketProtocols;
use chrono::{Datelike as _, NaiveDate, TimeDelta};

use crate::core::period::{PeriodGrain, custom_period, local_date, period_containing};
use crate::graphql::relay::{self, PageArgs};

/// A fuzz target: panics when an invariant breaks.
pub type Target = fn(&[u8]);

/// The targets by name, as the fuzz crate and the replay test know them.
pub const TARGETS: [(&str, Target); 7] = [
    ("global_id", global_id),
    ("cursor", cursor),
    ("period", period),
    ("money", money),
    ("csv_import", csv_import),
    ("token", token),
    ("ws_message", ws_message),
];

/// Global IDs: decoding never panics; whatever decodes re-encodes to an ID that decodes to the
/// same object and is refused as any other type.
pub fn global_id(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let id = ID(text.into_owned());
    if let Ok((kind, uuid)) = relay::decode_global_id(&id) {
        let again = relay::global_id(kind, uuid);
        assert_eq!(relay::decode_global_id(&again).ok(), Some((kind, uuid)));
        assert_eq!(relay::decode_id(&id, kind).ok(), Some(uuid));
        let other = if kind == relay::NodeKind::Team { relay::NodeKind::Member } else { relay::NodeKind::Team };
        assert!(relay::decode_id(&id, other).is_err(), "a {} ID accepted as {}", kind.name(), other.name());
    }
}

/// Cursors and page arguments: any `first`/`last`/`after`/`before` over any list either is
/// refused or gives a page no longer than asked (nor than the largest page) whose rows come after
/// `after` and before `before`; a cursor the codec accepts re-encodes to itself.
pub fn cursor(data: &[u8]) {
    use crate::graphql::keyset::{self, KeyKind, KeyValue, Keyset, SortColumn};
    const COLUMNS: &[SortColumn] = &[SortColumn::desc(KeyKind::Int), SortColumn::asc(KeyKind::Id)];
    fn key(row: &(i64, u128)) -> Vec<KeyValue> {
        vec![KeyValue::Int(row.0), KeyValue::Id(uuid::Uuid::from_u128(row.1))]
    }
    const ROWS: Keyset<(i64, u128)> = Keyset { connection: "fuzz", order: "N_DESC", columns: COLUMNS, key };
    let (numbers, rest) = data.split_at(data.len().min(14));
    let mut n = [0u8; 14];
    n[..numbers.len()].copy_from_slice(numbers);
    let count = |b: [u8; 4], on: u8| (on & 1 == 1).then(|| i32::from_le_bytes(b) % 300);
    let total = usize::from(n[8]) + usize::from(n[9]);
    let rows: Vec<(i64, u128)> = (0..total).map(|i| ((i % 7) as i64, i as u128 * u128::from(n[10] | 1))).collect();
    let text = String::from_utf8_lossy(rest);
    let (after, before) = match text.split_once('|') {
        Some((a, b)) => (Some(a.to_owned()), Some(b.to_owned())),
        None => (Some(text.clone().into_owned()).filter(|_| n[12] & 1 == 1), None),
    };
    // Half the time, a real cursor of a row in the list.
    let after = if n[11] & 1 == 1 && total > 0 {
        Some(keyset::encode("fuzz", "N_DESC", key(&rows[usize::from(n[11]) % total])))
    } else {
        after
    };
    let args = PageArgs {
        after,
        before,
        first: count([n[0], n[1], n[2], n[3]], n[13]),
        last: count([n[4], n[5], n[6], n[7]], n[13] >> 1),
        total: true,
    };
    let valid = args.validate().is_ok();
    match keyset::slice(rows, &ROWS, &args) {
        Ok(page) => {
            assert!(valid, "slice() accepted what validate() refused: {args:?}");
            let asked = args.first.or(args.last).map_or(relay::DEFAULT_PAGE, |c| c as usize);
            assert!(page.rows.len() <= asked.min(relay::MAX_PAGE), "{args:?}");
            assert_eq!(page.total_count, Some(total as u64));
            for (cursor, row) in &page.rows {
                assert_eq!(ROWS.decode(cursor).ok(), Some(key(row)), "a row's cursor decodes to its key");
            }
        }
        Err(e) => assert_eq!(e.code(), "BAD_USER_INPUT", "{args:?}"),
    }
    for c in [&args.after, &args.before].into_iter().flatten() {
        if let Ok(k) = ROWS.decode(c) {
            assert_eq!(ROWS.decode(&keyset::encode("fuzz", "N_DESC", k.clone())).ok(), Some(k));
        }
    }
}

/// Periods: for any grain, date (1900–2100, the accepted range), time zone and fiscal start
/// month, the period contains the date, its instants are in order (a day the zone skipped is
/// empty), and every day in it maps back to the same period.
pub fn period(data: &[u8]) {
    let mut b = [0u8; 12];
    b[..data.len().min(12)].copy_from_slice(&data[..data.len().min(12)]);
    let grains = [PeriodGrain::Day, PeriodGrain::Week, PeriodGrain::Month, PeriodGrain::Quarter, PeriodGrain::Year];
    let grain = grains[usize::from(b[0]) % grains.len()];
    let tz = chrono_tz::TZ_VARIANTS[usize::from(u16::from_le_bytes([b[1], b[2]])) % chrono_tz::TZ_VARIANTS.len()];
    let month = u32::from(b[3]) % 14; // 0 and 13 too: clamped
    let first = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
    let last = NaiveDate::from_ymd_opt(2100, 12, 31).unwrap_or(NaiveDate::MAX);
    let span = (last - first).num_days() + 1;
    let offset = i64::from(u32::from_le_bytes([b[4], b[5], b[6], b[7]])) % span;
    let date = first + TimeDelta::days(offset);

    let p = period_containing(grain, date, tz, month);
    assert!(p.start_date <= date && date < p.end_date, "{grain:?} {date} {tz} {month}: {p:?}");
    if p.start == p.end {
        // Only a day the zone skipped is empty (Pacific/Kanton went from UTC−11 to UTC+13 after
        // 1994-12-30, Pacific/Apia skipped 2011-12-30): no instant of it exists.
        assert_eq!(grain, PeriodGrain::Day, "{date} {tz}: an empty {grain:?} {p:?}");
        assert_ne!(local_date(p.start, tz), date, "{date} {tz}: empty, yet {} is on it", p.start);
    } else {
        assert!(p.start < p.end, "{grain:?} {date} {tz}: instants out of order {p:?}");
    }
    assert_eq!(p.grain, Some(grain));
    let days = (p.end_date - p.start_date).num_days();
    let expected = match grain {
        PeriodGrain::Day => 1..=1,
        PeriodGrain::Week => 7..=7,
        PeriodGrain::Month => 28..=31,
        PeriodGrain::Quarter => 89..=92,
        PeriodGrain::Year => 365..=366,
    };
    assert!(expected.contains(&days), "{grain:?} {date}: {days} days");
    for day in [p.start_date, p.end_date - TimeDelta::days(1)] {
        assert_eq!(period_containing(grain, day, tz, month), p, "{grain:?} {day} {tz} {month}");
    }
    if matches!(grain, PeriodGrain::Quarter | PeriodGrain::Year) {
        assert_eq!(p.start_date.day(), 1);
        let fiscal0 = month.clamp(1, 12) - 1;
        assert_eq!((p.start_date.month0() + 12 - fiscal0) % 3, 0, "{grain:?} {date} fiscal {month}: {p:?}");
    }

    // A campaign window between two instants of the same period.
    let a = p.start + TimeDelta::seconds(i64::from(u16::from_le_bytes([b[8], b[9]])) * 60);
    let z = p.start + TimeDelta::seconds(i64::from(u16::from_le_bytes([b[10], b[11]])) * 60);
    let c = custom_period(a, z, tz);
    assert!(c.start <= c.end && c.start_date <= c.end_date, "{a} {z} {tz}: {c:?}");
}

/// Money: any string is refused or gives cents in range that format and parse back unchanged;
/// quota and forecast amounts are refused or within their limits.
pub fn money(data: &[u8]) {
    use crate::quota::model::{QuotaMetric, parse_quota_amount};
    let text = String::from_utf8_lossy(data);
    for metric in [QuotaMetric::Revenue, QuotaMetric::DealsWon] {
        if let Ok(amount) = parse_quota_amount(metric, &text) {
            assert!(amount >= rust_decimal::Decimal::ZERO, "{text:?} → {amount}");
            let _ = crate::quota::store::to_hundredths(amount);
        }
    }
    if let Ok(amount) = crate::forecast::model::parse_forecast_amount("commit", &text) {
        assert!(amount >= rust_decimal::Decimal::ZERO && amount.scale() == 2, "{text:?} → {amount}");
    }
    if let Ok(cents) = crate::pipeline::model::parse_amount("amount", &text) {
        assert!((0..=crate::pipeline::model::MAX_AMOUNT_CENTS).contains(&cents), "{text:?} → {cents}");
        let shown = crate::pipeline::model::format_amount(cents);
        assert_eq!(crate::pipeline::model::parse_amount("amount", &shown).ok(), Some(cents), "{text:?} → {shown}");
    }
}

/// CSV imports: any bytes are read as the import reads an upload (headers, then each row's
/// cells for deals and for activities) without panicking, and every error names a column of
/// the format.
pub fn csv_import(data: &[u8]) {
    use crate::import::service as import;
    for (columns, required) in [
        (&import::DEAL_COLUMNS[..], &["externalId"][..]),
        (&import::ACTIVITY_COLUMNS[..], &["externalId", "memberEmail", "activityType"][..]),
    ] {
        let mut reader = import::csv_reader(data);
        let Ok(cols) = import::headers(&mut reader, columns, required) else { continue };
        for record in reader.records().take(1_000) {
            let Ok(record) = record else { continue };
            let named = |column: &Option<String>| column.as_deref().is_none_or(|c| columns.contains(&c));
            if columns.len() == import::DEAL_COLUMNS.len() {
                if let Err(errors) = import::deal_cells(&record, &cols) {
                    assert!(!errors.is_empty() && errors.iter().all(|(c, _)| named(c)), "{errors:?}");
                }
            } else if let Err((column, _)) = import::activity_cells(&record, &cols) {
                assert!(columns.contains(&column), "{column}");
            }
        }
    }
}

/// Tokens: a valid access token with bytes changed by the fuzzer never verifies as anything
/// but the original claims; `Authorization` values that look like API keys give a prefix only
/// when they have the key's shape.
pub fn token(data: &[u8]) {
    use std::sync::OnceLock;
    static KEYS: OnceLock<(crate::auth::jwt::JwtKeys, String)> = OnceLock::new();
    let (keys, original) = KEYS.get_or_init(|| {
        let mut config = crate::Config::for_database("sqlite::memory:", "fuzz-secret");
        // A token that stays valid however long the fuzzer runs.
        config.max_token_lifetime_seconds = 36_500 * 86_400;
        let keys = crate::auth::jwt::JwtKeys::from_config(&config).expect("keys");
        let token = keys
            .issue(uuid::Uuid::from_u128(7), uuid::Uuid::from_u128(9), chrono::Duration::days(36_500))
            .expect("token");
        (keys, token)
    });
    // Splice: the fuzzer's bytes replace part of the token at an offset it chooses.
    let mut bytes = original.clone().into_bytes();
    if let Some((&at, patch)) = data.split_first() {
        let at = usize::from(at) * bytes.len() / 256;
        let end = (at + patch.len()).min(bytes.len());
        bytes.splice(at..end, patch.iter().copied());
    }
    let text = String::from_utf8_lossy(&bytes);
    if let Ok(crate::auth::jwt::Verified { claims, .. }) = keys.verify(&text) {
        assert_eq!(claims.sub, uuid::Uuid::from_u128(7).to_string(), "forged subject from {text:?}");
        assert_eq!(claims.org, uuid::Uuid::from_u128(9).to_string(), "forged organization from {text:?}");
    }
    let raw = String::from_utf8_lossy(data);
    assert!(keys.verify(&raw).is_err() || raw.contains('.'), "a token without dots verified: {raw:?}");
    if let Some(prefix) = crate::auth::api_keys::prefix_of(&raw) {
        assert!(raw.starts_with(prefix) && prefix.len() == 16, "{raw:?} → {prefix:?}");
    }
}

/// WebSocket messages: any sequence of frames (split on newlines) is checked by the same
/// functions the server runs before and after `connection_init`; they never panic, close only
/// with the protocol's codes (or 1000 when a legacy client ends the connection), and track
/// operation IDs exactly.
pub fn ws_message(data: &[u8]) {
    use crate::server::ws::{BeforeInit, after_init, before_init};
    for protocol in [WebSocketProtocols::GraphQLWS, WebSocketProtocols::SubscriptionsTransportWS] {
        let mut frames = data.split(|b| *b == b'\n');
        let mut initialised = false;
        for frame in frames.by_ref() {
            match before_init(protocol, frame) {
                BeforeInit::Init(_) => {
                    initialised = true;
                    break;
                }
                BeforeInit::Close(code, _) => {
                    assert!([4400, 4401].contains(&code), "closed with {code}");
                    break;
                }
                BeforeInit::Pong | BeforeInit::Ignore => {}
            }
        }
        if !initialised {
            continue;
        }
        let mut active = HashSet::new();
        for frame in frames {
            let before = active.len();
            match after_init(protocol, frame, &mut active) {
                Some((code, _)) => {
                    // 1000: a legacy client's `connection_terminate` ends the connection normally.
                    let legacy_end = protocol == WebSocketProtocols::SubscriptionsTransportWS && code == 1000;
                    assert!(legacy_end || [4400, 4409, 4429].contains(&code), "closed with {code}");
                    assert_eq!(active.len(), before, "a refused frame changed the operations");
                    break;
                }
                None => assert!(active.len().abs_diff(before) <= 1, "one frame, one operation"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// every committed seed input and every input a fuzzer crashed on runs without a panic.
    #[test]
    fn the_corpus_and_past_crashes_replay_cleanly() {
        let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
        let mut replayed = 0;
        for (name, target) in TARGETS {
            for folder in ["seeds", "regressions"] {
                let Ok(entries) = std::fs::read_dir(fuzz.join(folder).join(name)) else { continue };
                for entry in entries.flatten() {
                    let data = std::fs::read(entry.path()).expect("read input");
                    target(&data);
                    replayed += 1;
                }
            }
        }
        assert!(replayed >= TARGETS.len(), "the seed corpus is missing: only {replayed} inputs under {fuzz:?}");
    }

    #[test]
    fn each_target_takes_empty_and_arbitrary_input() {
        for (_, target) in TARGETS {
            target(b"");
            target(&[0xff; 64]);
            target(b"\n{\"type\":\"connection_init\"}\n{\"type\":\"subscribe\",\"id\":\"1\",\"payload\":{\"query\":\"{a}\"}}");
        }
    }
}
