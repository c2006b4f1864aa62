//! Messages shown to users (field errors, refusals) in the request's language.
//!
//! Messages are written in English where they arise; [`translate`] renders one in another
//! language from a catalogue of English templates and their translations.
//!
//! A template is a message with every interpolated value written `{}`. A message is looked up
//! whole first; otherwise the first template whose pattern matches all of it is used, the
//! values it holds filled into the translation. A value written in quotes in the template
//! (`'{}'`, `"{}"`) is a name the user typed and goes in as it is; any other value is
//! translated in turn (messages embed other messages, and nouns such as the `deal` of
//! `deal not found`). A message the catalogue does not know stays English.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use regex::{Regex, RegexSet};

use super::locale::Locale;

mod nl;
use nl::CATALOGUE;

/// `text` (an English message built where it arose) in `locale`; English, or a message the
/// catalogue does not know, is returned as it is.
pub fn translate(text: &str, locale: Locale) -> Cow<'_, str> {
    match locale {
        Locale::En => Cow::Borrowed(text),
        Locale::Nl => match MATCHER.as_ref().and_then(|m| m.dutch(text, 0)) {
            Some(dutch) if dutch != text => Cow::Owned(dutch),
            _ => Cow::Borrowed(text),
        },
    }
}

/// How deep messages are looked up inside messages.
const MAX_DEPTH: usize = 4;

/// Longer text is no message of ours (they stay well under this) and is left as it is.
const MAX_TEXT_BYTES: usize = 16 * 1024;

/// One part of a translation: fixed text, or the value of the English template's n-th `{}`.
#[derive(Debug)]
enum Piece {
    Text(&'static str),
    Value(usize),
}

/// A catalogue entry with placeholders, ready to match.
#[derive(Debug)]
struct Template {
    /// The whole English template, `{}` capturing lazily.
    pattern: Regex,
    /// Per placeholder: whether it is written in quotes (a name, inserted verbatim).
    quoted: Vec<bool>,
    /// The translation.
    dutch: Vec<Piece>,
}

#[derive(Debug)]
struct Matcher {
    /// Entries without placeholders.
    exact: HashMap<&'static str, &'static str>,
    /// Every template's pattern, in catalogue order (to find the first that matches).
    set: RegexSet,
    templates: Vec<Template>,
}

static MATCHER: LazyLock<Option<Matcher>> = LazyLock::new(Matcher::build);

impl Matcher {
    /// The matcher of [`CATALOGUE`]; `None` only if its patterns cannot be built (a test
    /// makes sure they can), in which case nothing is translated.
    fn build() -> Option<Matcher> {
        let mut exact = HashMap::new();
        let mut templates = Vec::new();
        for &(en, nl) in CATALOGUE {
            let literals: Vec<&str> = en.split("{}").collect();
            if literals.len() == 1 {
                exact.entry(en).or_insert(nl);
                continue;
            }
            let body: Vec<String> = literals.iter().map(|l| regex::escape(l)).collect();
            let pattern = Regex::new(&format!(r"(?s)\A{}\z", body.join("(.*?)"))).ok()?;
            templates.push(Template { pattern, quoted: quoted_placeholders(&literals), dutch: pieces(nl) });
        }
        let set = RegexSet::new(templates.iter().map(|t| t.pattern.as_str())).ok()?;
        Some(Matcher { exact, set, templates })
    }

    /// The Dutch of `text`, or `None` when the catalogue does not know it.
    fn dutch(&self, text: &str, depth: usize) -> Option<String> {
        if depth > MAX_DEPTH || text.len() > MAX_TEXT_BYTES {
            return None;
        }
        if let Some(nl) = self.exact.get(text) {
            return Some((*nl).to_owned());
        }
        let first = self.set.matches(text).into_iter().next()?;
        let template = self.templates.get(first)?;
        let captures = template.pattern.captures(text)?;
        let values: Vec<String> = template
            .quoted
            .iter()
            .enumerate()
            .map(|(i, quoted)| {
                let value = captures.get(i + 1).map_or("", |m| m.as_str());
                if *quoted { value.to_owned() } else { self.value(value, depth + 1) }
            })
            .collect();
        let mut out = String::with_capacity(text.len() + 16);
        for piece in &template.dutch {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Value(i) => out.push_str(values.get(*i).map_or("", String::as_str)),
            }
        }
        Some(out)
    }

    /// A value inside a message: a message or noun of its own, a list of codes and nouns
    /// (`ADMIN or VIEWER`, `a, b or c`), or anything else, which stays as it is.
    fn value(&self, value: &str, depth: usize) -> String {
        if value.is_empty() {
            return String::new();
        }
        self.dutch(value, depth).or_else(|| self.list(value)).unwrap_or_else(|| value.to_owned())
    }

    /// A list `a, b or c` whose items are codes (single words, kept) or phrases of the
    /// catalogue (translated), with `or` translated; `None` for anything else.
    fn list(&self, value: &str) -> Option<String> {
        if !value.contains(", ") && !value.contains(" or ") {
            return None;
        }
        let mut items: Vec<&str> = value.split(", ").collect();
        let last = items.pop()?;
        let (last, or) = match last.rsplit_once(" or ") {
            Some((a, b)) => {
                items.push(a);
                (b, true)
            }
            None => (last, false),
        };
        items.push(last);
        // A single word is a code (a scope, a column, a role) and stays; a phrase is a noun.
        let phrase = |item: &str| item.contains(char::is_whitespace);
        let known = |item: &str| !item.is_empty() && (!phrase(item) || self.exact.contains_key(item));
        if !items.iter().all(|i| known(i)) {
            return None;
        }
        let translated: Vec<&str> =
            items.iter().map(|i| if phrase(i) { self.exact.get(i).copied().unwrap_or(i) } else { i }).collect();
        let out = match (or, translated.split_last()) {
            (true, Some((last, rest))) => format!("{} of {last}", rest.join(", ")),
            _ => translated.join(", "),
        };
        (out != value).then_some(out)
    }
}

/// Per placeholder between `literals` (the template split at `{}`): whether it is quoted.
fn quoted_placeholders(literals: &[&str]) -> Vec<bool> {
    literals
        .windows(2)
        .map(|pair| match (pair[0].chars().next_back(), pair[1].chars().next()) {
            (Some(a), Some(b)) => a == b && (a == '\'' || a == '"'),
            _ => false,
        })
        .collect()
}

/// A translation split into text and placeholders: `{}` takes the next value, `{n}` the n-th;
/// any other brace is text.
fn pieces(nl: &'static str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut next = 0;
    let mut text_from = 0;
    let mut i = 0;
    let bytes = nl.as_bytes();
    while i < bytes.len() {
        if bytes[i] == b'{' {
            let digits = bytes[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
            if bytes.get(i + 1 + digits) == Some(&b'}') {
                let index = if digits == 0 {
                    next += 1;
                    next - 1
                } else {
                    nl[i + 1..i + 1 + digits].parse().unwrap_or(usize::MAX)
                };
                if text_from < i {
                    out.push(Piece::Text(&nl[text_from..i]));
                }
                out.push(Piece::Value(index));
                i += digits + 2;
                text_from = i;
                continue;
            }
        }
        i += 1;
    }
    if text_from < nl.len() {
        out.push(Piece::Text(&nl[text_from..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};
    use std::path::{Path, PathBuf};

    use super::*;

    fn nl(text: &str) -> String {
        translate(text, Locale::Nl).into_owned()
    }

    // ------------------------------------------------------------ reading the sources

    /// A token of Rust source, as far as finding messages needs.
    #[derive(Debug, Clone, PartialEq)]
    enum Tok {
        Ident(String),
        /// A string literal, escapes resolved.
        Str(String),
        Punct(char),
        Char,
    }

    fn is(t: &Tok, s: &str) -> bool {
        match t {
            Tok::Ident(x) => x == s,
            Tok::Punct(c) => s.chars().eq(std::iter::once(*c)),
            _ => false,
        }
    }

    /// The tokens of `src` with their line numbers; comments are skipped.
    fn lex(src: &str) -> Vec<(Tok, usize)> {
        let c: Vec<char> = src.chars().collect();
        let at = |k: usize| c.get(k).copied().unwrap_or('\0');
        let mut out = Vec::new();
        let (mut i, mut line) = (0, 1);
        while i < c.len() {
            let ch = c[i];
            if ch == '\n' {
                line += 1;
                i += 1;
            } else if ch.is_whitespace() {
                i += 1;
            } else if ch == '/' && at(i + 1) == '/' {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            } else if ch == '/' && at(i + 1) == '*' {
                let mut depth = 0;
                while i < c.len() {
                    if c[i] == '/' && at(i + 1) == '*' {
                        depth += 1;
                        i += 2;
                    } else if c[i] == '*' && at(i + 1) == '/' {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        line += usize::from(c[i] == '\n');
                        i += 1;
                    }
                }
            } else if let Some((text, end)) = raw_string(&c, i) {
                line += text.matches('\n').count();
                out.push((Tok::Str(text), line));
                i = end;
            } else if ch == '"' || (matches!(ch, 'b' | 'c') && at(i + 1) == '"') {
                let start_line = line;
                i += if ch == '"' { 1 } else { 2 };
                let mut text = String::new();
                while i < c.len() && c[i] != '"' {
                    if c[i] != '\\' {
                        line += usize::from(c[i] == '\n');
                        text.push(c[i]);
                        i += 1;
                        continue;
                    }
                    let escaped = at(i + 1);
                    i += 2;
                    match escaped {
                        'n' => text.push('\n'),
                        't' => text.push('\t'),
                        'r' => text.push('\r'),
                        '0' => text.push('\0'),
                        '\n' | '\r' => {
                            // A line continuation: the line break and the next line's indent go.
                            while i < c.len() && c[i].is_whitespace() {
                                line += usize::from(c[i] == '\n');
                                i += 1;
                            }
                            line += usize::from(escaped == '\n');
                        }
                        'u' => {
                            let end = (i..c.len()).find(|&k| c[k] == '}').unwrap_or(c.len());
                            let hex: String = c[(i + 1).min(end)..end].iter().collect();
                            text.extend(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32));
                            i = end + 1;
                        }
                        'x' => {
                            let hex: String = c[i..(i + 2).min(c.len())].iter().collect();
                            text.extend(u8::from_str_radix(&hex, 16).ok().map(char::from));
                            i += 2;
                        }
                        other => text.push(other),
                    }
                }
                i += 1;
                out.push((Tok::Str(text), start_line));
            } else if ch == '\'' {
                if at(i + 1) == '\\' {
                    i += 3;
                    while i < c.len() && c[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                    out.push((Tok::Char, line));
                } else if at(i + 2) == '\'' {
                    i += 3;
                    out.push((Tok::Char, line));
                } else {
                    // A lifetime: its name follows as an identifier.
                    i += 1;
                }
            } else if ch.is_alphanumeric() || ch == '_' {
                let start = i;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
                out.push((Tok::Ident(c[start..i].iter().collect()), line));
            } else {
                out.push((Tok::Punct(ch), line));
                i += 1;
            }
        }
        out
    }

    /// A raw string literal (`r"…"`, `r#"…"#`, `br"…"`) starting at `i`: its text and where it ends.
    fn raw_string(c: &[char], i: usize) -> Option<(String, usize)> {
        let at = |k: usize| c.get(k).copied().unwrap_or('\0');
        let prefix = match (at(i), at(i + 1)) {
            ('b' | 'c', 'r') => 2,
            ('r', _) => 1,
            _ => return None,
        };
        if i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_') {
            return None;
        }
        let mut j = i + prefix;
        while at(j) == '#' {
            j += 1;
        }
        if at(j) != '"' {
            return None;
        }
        let hashes = j - i - prefix;
        let start = j + 1;
        let end = (start..c.len()).find(|&k| c[k] == '"' && (0..hashes).all(|h| at(k + 1 + h) == '#'))?;
        Some((c[start..end].iter().collect(), end + 1 + hashes))
    }

    /// The tokens without the items marked `#[cfg(test)]` (test modules and helpers).
    fn without_tests(toks: &[(Tok, usize)]) -> Vec<(Tok, usize)> {
        const ATTRIBUTE: [&str; 7] = ["#", "[", "cfg", "(", "test", ")", "]"];
        let mut out = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            if !ATTRIBUTE.iter().enumerate().all(|(k, s)| toks.get(i + k).is_some_and(|(t, _)| is(t, s))) {
                out.push(toks[i].clone());
                i += 1;
                continue;
            }
            i += ATTRIBUTE.len();
            let mut depth = 0;
            while i < toks.len() {
                let t = &toks[i].0;
                if is(t, "(") || is(t, "[") {
                    depth += 1;
                } else if is(t, ")") || is(t, "]") {
                    depth -= 1;
                } else if depth == 0 && is(t, ";") {
                    i += 1;
                    break;
                } else if depth == 0 && is(t, "{") {
                    let mut braces = 0;
                    while i < toks.len() {
                        if is(&toks[i].0, "{") {
                            braces += 1;
                        } else if is(&toks[i].0, "}") {
                            braces -= 1;
                            if braces == 0 {
                                break;
                            }
                        }
                        i += 1;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
        }
        out
    }

    /// Where each argument of the call whose `(` is at `open` starts.
    fn arguments(toks: &[(Tok, usize)], open: usize) -> Vec<usize> {
        let mut starts = vec![open + 1];
        let mut depth = 0;
        for (k, (t, _)) in toks.iter().enumerate().skip(open) {
            if is(t, "(") || is(t, "[") || is(t, "{") {
                depth += 1;
            } else if is(t, ")") || is(t, "]") || is(t, "}") {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            } else if depth == 1 && is(t, ",") {
                starts.push(k + 1);
            }
        }
        starts
    }

    /// A format string as a template: every interpolation (`{name}`, `{}`, `{:?}`, `{x:.2}`)
    /// becomes `{}`, and `{{`/`}}` the brace.
    fn format_template(f: &str) -> String {
        let mut out = String::new();
        let mut chars = f.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    out.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    out.push('}');
                }
                '{' => {
                    for d in chars.by_ref() {
                        if d == '}' {
                            break;
                        }
                    }
                    out.push_str("{}");
                }
                c => out.push(c),
            }
        }
        out
    }

    /// The message template of the expression at `k`: a string literal, or `format!("…", …)`.
    fn message_at(toks: &[(Tok, usize)], k: usize) -> Option<String> {
        let tok = |n: usize| toks.get(k + n).map(|(t, _)| t);
        match tok(0)? {
            Tok::Str(s) => Some(s.clone()),
            t if is(t, "format") && is(tok(1)?, "!") && is(tok(2)?, "(") => match tok(3)? {
                Tok::Str(f) => Some(format_template(f)),
                _ => None,
            },
            _ => None,
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Kind {
        /// A whole message (or the template of one).
        Message,
        /// A noun or phrase put into a message (`AppError::NotFound("deal")`, "this member").
        Noun,
    }

    /// The `AppError` constructors whose first argument is the message.
    const MESSAGE_VARIANTS: [&str; 7] =
        ["Forbidden", "forbidden", "bad_input", "BadUserInput", "Conflict", "QueryTooComplex", "Unauthenticated"];

    /// The messages and nouns of one file's tokens, with their line.
    fn extract(toks: &[(Tok, usize)]) -> Vec<(Kind, String, usize)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let tok = |n: usize| toks.get(i + n).map(|(t, _)| t);
            let path = |a: &str, b: &str| {
                [a, ":", ":", b, "("].iter().enumerate().all(|(n, s)| tok(n).is_some_and(|t| is(t, s)))
            };
            let call = |name: &str| tok(0).is_some_and(|t| is(t, name)) && tok(1).is_some_and(|t| is(t, "("));
            let method = i > 0 && is(&toks[i - 1].0, ".");
            let site = if path("FieldError", "new") {
                Some((i + 4, 2, Kind::Message))
            } else if MESSAGE_VARIANTS.iter().any(|v| path("AppError", v)) || path("Auth", "Invalid") {
                Some((i + 4, 0, Kind::Message))
            } else if path("AppError", "NotFound") || path("AppError", "stale_version") {
                Some((i + 4, 0, Kind::Noun))
            } else if call("rule_error") || call("result_error") {
                Some((i + 1, 3, Kind::Message))
            } else if call("require_may_change") {
                Some((i + 1, 3, Kind::Noun))
            } else if method && call("require") {
                Some((i + 1, 1, Kind::Noun))
            } else {
                None
            };
            if let Some((open, n, kind)) = site {
                if let Some(text) = arguments(toks, open).get(n).and_then(|&k| message_at(toks, k)) {
                    out.push((kind, text, toks[i].1));
                }
            } else if tok(0).is_some_and(|t| is(t, "FieldError")) && tok(1).is_some_and(|t| is(t, "{")) {
                // A struct literal: its `message` field.
                let mut depth = 0;
                for k in i + 1..toks.len() {
                    let t = &toks[k].0;
                    if is(t, "{") || is(t, "(") || is(t, "[") {
                        depth += 1;
                    } else if is(t, "}") || is(t, ")") || is(t, "]") {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    } else if depth == 1
                        && is(t, "message")
                        && toks.get(k + 1).is_some_and(|(t, _)| is(t, ":"))
                        && let Some(text) = message_at(toks, k + 2)
                    {
                        out.push((Kind::Message, text, toks[k].1));
                    }
                }
            }
            i += 1;
        }
        out
    }

    /// The `.rs` files under `dir`, without the payout explanations (`incentive/model`).
    fn sources(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.strip_prefix(root).is_ok_and(|r| r == Path::new("incentive/model")) {
                    continue;
                }
                sources(&path, root, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }

    /// Every message and noun the sources pass to the error constructors: template → where.
    fn messages_in_sources() -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
        let mut files = Vec::new();
        sources(root, root, &mut files);
        assert!(files.len() > 100, "the sources are not where they were expected: {}", root.display());
        let (mut messages, mut nouns) = (BTreeMap::new(), BTreeMap::new());
        for file in files {
            let src = std::fs::read_to_string(&file).expect("readable source");
            let name = file.strip_prefix(root).unwrap_or(&file).display().to_string();
            for (kind, text, line) in extract(&without_tests(&lex(&src))) {
                let into = if kind == Kind::Message { &mut messages } else { &mut nouns };
                into.entry(text).or_insert_with(|| format!("{name}:{line}"));
            }
        }
        (messages, nouns)
    }

    #[test]
    fn every_message_in_the_sources_has_a_translation() {
        let (messages, nouns) = messages_in_sources();
        eprintln!(
            "{} messages and {} nouns in the sources, {} catalogue entries",
            messages.len(),
            nouns.len(),
            CATALOGUE.len()
        );
        assert!(messages.len() >= 250, "only {} messages found: the extraction is broken", messages.len());
        assert!(nouns.len() >= 30, "only {} nouns found: the extraction is broken", nouns.len());
        let english: HashSet<&str> = CATALOGUE.iter().map(|(en, _)| *en).collect();
        let mut missing = Vec::new();
        for (message, at) in &messages {
            let sample = message.replace("{}", "x");
            if !english.contains(message.as_str()) && nl(&sample) == sample {
                missing.push(format!("{at}: {message:?}"));
            }
        }
        for (noun, at) in &nouns {
            // The demo's seed looks up its admin by e-mail address: not a word to translate.
            if !noun.contains('@') && !english.contains(noun.as_str()) {
                missing.push(format!("{at}: noun {noun:?}"));
            }
        }
        assert!(
            missing.is_empty(),
            "{} messages have no Dutch in the catalogue:\n{}",
            missing.len(),
            missing.join("\n")
        );
    }

    #[test]
    fn the_extraction_reads_format_strings_and_skips_tests() {
        let src = r##"
            fn f() {
                let a = FieldError::new("f", "X", "plain one");
                let b = AppError::Conflict(format!(
                    "the {what} is at version {}, not {v:?}; \
                     reload {x:.2} and {{braces}}",
                    1
                ));
                let c = AppError::NotFound("deal");
                let d = crate::auth::Auth::Invalid("it's r\"aw\u{e9}".into());
                let e = 'x';
                let f: &'static str = r#"no"#;
            }
            #[cfg(test)]
            mod tests { fn g() { AppError::bad_input("in a test"); } }
            fn h() { AppError::forbidden("after the tests") }
        "##;
        let found: Vec<(Kind, String)> =
            extract(&without_tests(&lex(src))).into_iter().map(|(k, t, _)| (k, t)).collect();
        assert_eq!(
            found,
            [
                (Kind::Message, "plain one".to_owned()),
                (Kind::Message, "the {} is at version {}, not {}; reload {} and {braces}".to_owned()),
                (Kind::Noun, "deal".to_owned()),
                (Kind::Message, "it's r\"awé".to_owned()),
                (Kind::Message, "after the tests".to_owned()),
            ]
        );
    }

    // ------------------------------------------------------------ the catalogue

    #[test]
    fn the_catalogue_builds_and_every_template_is_used() {
        let m = MATCHER.as_ref().expect("every pattern compiles");
        let with_values = CATALOGUE.iter().filter(|(en, _)| en.contains("{}")).count();
        assert_eq!(m.templates.len(), with_values);
        assert_eq!(m.exact.len() + with_values, CATALOGUE.len());
    }

    #[test]
    fn no_english_template_appears_twice() {
        let mut seen = HashSet::new();
        let twice: Vec<&str> = CATALOGUE.iter().map(|(en, _)| *en).filter(|en| !seen.insert(*en)).collect();
        assert!(twice.is_empty(), "twice in the catalogue: {twice:?}");
    }

    #[test]
    fn placeholders_match_between_english_and_dutch() {
        for (en, nl) in CATALOGUE {
            let count = en.matches("{}").count();
            let mut used: Vec<usize> = pieces(nl)
                .iter()
                .filter_map(|p| match p {
                    Piece::Value(i) => Some(*i),
                    Piece::Text(_) => None,
                })
                .collect();
            used.sort_unstable();
            assert_eq!(used, (0..count).collect::<Vec<_>>(), "{en:?} → {nl:?}");
            let positional = nl.contains("{0}");
            assert!(!positional || !nl.contains("{}"), "{nl:?} mixes {{}} and {{n}}");
        }
    }

    #[test]
    fn each_template_is_the_first_to_match_its_own_messages() {
        let m = MATCHER.as_ref().expect("matcher");
        let templates = CATALOGUE.iter().filter(|(en, _)| en.contains("{}"));
        for (i, (english, _)) in templates.enumerate() {
            let sample = english.replace("{}", "x");
            let first = m.set.matches(&sample).into_iter().next();
            assert_eq!(first, Some(i), "{sample:?} is taken by an earlier template: move the more specific one up");
        }
    }

    #[test]
    fn whole_messages_translate_to_their_entry() {
        for (en, nl_text) in CATALOGUE.iter().filter(|(en, _)| !en.contains("{}")) {
            assert_eq!(nl(en), *nl_text);
        }
    }

    #[test]
    fn examples() {
        assert_eq!(nl("must be at most 200 characters"), "mag maximaal 200 tekens lang zijn");
        assert_eq!(nl("deal not found"), "deal niet gevonden");
        assert_eq!(nl("member not found"), "medewerker niet gevonden");
        assert_eq!(nl("activity type not found"), "activiteitstype niet gevonden");
        // A quoted value is a name the user typed: never translated, even when it is a word.
        assert_eq!(nl("the token lacks the 'member' claim"), "het token mist de claim 'member'");
        assert_eq!(nl("deal 'activity' is already closed"), "deal 'activity' is al gesloten");
        assert_eq!(
            nl("an organization with slug 'deal' exists already"),
            "er bestaat al een organisatie met slug 'deal'"
        );
        // Messages inside messages.
        assert_eq!(nl("not authenticated: token expired"), "niet geauthenticeerd: token verlopen");
        assert_eq!(
            nl("'week' must be between 1900-01-01 and 2100-12-31"),
            "'week' moet tussen 1900-01-01 en 2100-12-31 liggen"
        );
        assert_eq!(
            nl("this member is outside the teams you manage"),
            "deze medewerker valt buiten de teams die je beheert"
        );
        assert_eq!(
            nl("uploads need authentication: not authenticated: send 'Authorization: Bearer <token>'"),
            "uploads vereisen authenticatie: niet geauthenticeerd: stuur 'Authorization: Bearer <token>'"
        );
        // Versions: the noun's own sentence, else the general one.
        assert_eq!(
            nl("the team is at version 3, not 2; reload and try again"),
            "het team staat op versie 3, niet 2; laad opnieuw en probeer het nog eens"
        );
        assert_eq!(
            nl("the widget is at version 3, not 2; reload and try again"),
            "widget: de actuele versie is 3, niet 2; laad opnieuw en probeer het nog eens"
        );
        // Another word order, by position.
        assert_eq!(
            nl("the member is already assigned to this territory as OWNER from 2026-01-01 to 2026-06-30"),
            "de medewerker is van 2026-01-01 tot en met 2026-06-30 al als OWNER aan dit gebied toegewezen"
        );
        assert_eq!(
            nl("the member is already on a plan from 2026-01-01; end that assignment first"),
            "de medewerker zit vanaf 2026-01-01 al op een plan; beëindig eerst die toewijzing"
        );
        // Lists: codes stay, phrases and `or` are translated.
        assert_eq!(nl("a firm grants ADMIN or VIEWER only"), "een bureau kent alleen ADMIN of VIEWER toe");
        assert_eq!(
            nl("the organization is set up already (it has pipeline stages, KPI targets)"),
            "de organisatie is al ingericht (ze heeft al pijplijnfasen, KPI-doelen)"
        );
        assert_eq!(
            nl("unknown column 'x'; the columns are externalId, stage, member"),
            "onbekende kolom 'x'; de kolommen zijn externalId, stage, member"
        );
        assert_eq!(nl("the organization is suspended already"), "de organisatie is al opgeschort");
        // Codes and GraphQL names stay as they are.
        assert_eq!(nl("your role does not allow OrganizationUpdate"), "je rol staat OrganizationUpdate niet toe");
        assert_eq!(nl("expected a Team ID, got a Member ID"), "verwachtte een Team-ID, maar kreeg een Member-ID");
    }

    #[test]
    fn english_is_returned_as_it_is() {
        for (en, _) in CATALOGUE {
            let sample = en.replace("{}", "x");
            assert!(matches!(translate(&sample, Locale::En), Cow::Borrowed(s) if s == sample));
        }
        assert!(matches!(translate("deal not found", Locale::En), Cow::Borrowed("deal not found")));
    }

    #[test]
    fn unknown_and_odd_text_is_returned_unchanged_without_panicking() {
        for odd in [
            "",
            " ",
            "{}",
            "{0}",
            "{{}}",
            "}{",
            "{",
            "hello world",
            "Unknown field \"x\" on type \"Query\".",
            "\u{0}",
            "x\u{202E}y",
            "ëèø 🎉 ✓",
            " not found",
            "not authenticated: ",
        ] {
            let out = translate(odd, Locale::Nl);
            assert!(!out.is_empty() || odd.is_empty());
            if !odd.contains("not ") {
                assert!(matches!(out, Cow::Borrowed(s) if s == odd), "{odd:?} → {out:?}");
            }
        }
        assert_eq!(nl(" not found"), " niet gevonden");
        assert_eq!(nl("ëèø 🎉 not found"), "ëèø 🎉 niet gevonden");
        assert_eq!(nl("{} not found"), "{} niet gevonden");
        let big = "a".repeat(100_000);
        assert!(matches!(translate(&big, Locale::Nl), Cow::Borrowed(_)));
        let big_message = format!("{} not found", "é".repeat(50_000));
        assert!(matches!(translate(&big_message, Locale::Nl), Cow::Borrowed(_)));
        let fits = format!("{} not found", "é".repeat(3_000));
        assert!(nl(&fits).ends_with(" niet gevonden"));
        // Messages nested deeper than the lookup goes: the outer ones are still translated.
        let deep = format!("{}token expired", "not authenticated: ".repeat(50));
        assert!(nl(&deep).starts_with("niet geauthenticeerd: niet geauthenticeerd: "));
        let braces = "the {x} is at version {}, not {{}}; reload and try again";
        assert!(nl(braces).starts_with("{x}: de actuele versie is {}"));
    }
}
