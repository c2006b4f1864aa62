//! Errors on one input field, and the rules for names and free text that every area uses.

/// What a use-case returns when the request can be refused for its content: the result, or the
/// field errors that say what to fix (nothing was written then).
pub type Checked<T> = Result<T, Vec<FieldError>>;

/// A rejected field value: the field name (as in the GraphQL input) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the input field, e.g. `["input", "email"]`.
    pub field: Vec<String>,
    /// Human-readable reason.
    pub message: String,
    /// Machine-readable reason, e.g. `INVALID`, `TAKEN`, `CYCLE`.
    pub code: &'static str,
}

impl FieldError {
    /// A field error on `input.<field>`.
    pub fn new(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        FieldError { field: vec!["input".to_owned(), field.to_owned()], message: message.into(), code }
    }
}

/// Longest accepted name (organization, team, member).
pub const MAX_NAME_LEN: usize = 200;

/// A trimmed, non-empty name of at most [`MAX_NAME_LEN`] characters without control characters.
pub fn parse_name(field: &str, raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(FieldError::new(field, "REQUIRED", "must not be empty"));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(FieldError::new(field, "TOO_LONG", format!("must be at most {MAX_NAME_LEN} characters")));
    }
    check_name_characters(field, name)?;
    Ok(name.to_owned())
}

/// Whether `c` may not appear in a name: control characters, and characters that are not
/// seen but change what is seen. Bidi controls (U+202A–202E, U+2066–2069, U+200E/200F,
/// U+061C) reorder the text around them, so `Jan\u{202E}nimda` reads as another name;
/// zero-width and invisible characters (U+200B–200D, U+2060, U+FEFF, U+180E, U+00AD, …) make
/// two names that look alike differ, or a name that looks empty. Every Unicode format
/// character (category Cf, which holds all of those), line and paragraph separators, and the
/// blank fillers and joiners of other categories are refused: what the table does not list as
/// visible text is refused, rather than chasing each character by hand.
pub fn is_forbidden_in_name(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::Surrogate
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
    ) || INVISIBLE_LETTERS_AND_MARKS.contains(&c)
}

/// Invisible characters outside the format category: the combining grapheme joiner, Hangul
/// fillers, Khmer inherent vowels, the Braille blank and the Mongolian free variation selectors.
pub(crate) const INVISIBLE_LETTERS_AND_MARKS: [char; 12] = [
    '\u{034F}', '\u{115F}', '\u{1160}', '\u{17B4}', '\u{17B5}', '\u{180B}', '\u{180C}', '\u{180D}', '\u{180F}',
    '\u{2800}', '\u{3164}', '\u{FFA0}',
];

/// Refuses a name (of a member, team, organization, activity type, deal, …) holding a
/// character [`is_forbidden_in_name`] refuses, naming the first one so the user can find it.
pub fn check_name_characters(field: &str, name: &str) -> Result<(), FieldError> {
    match name.chars().find(|c| is_forbidden_in_name(*c)) {
        None => Ok(()),
        Some(c) if c.is_control() => Err(FieldError::new(field, "INVALID", "must not contain control characters")),
        Some(c) => Err(FieldError::new(
            field,
            "INVALID",
            format!("must not contain invisible or text-direction characters (found U+{:04X})", u32::from(c)),
        )),
    }
}

/// Free text (a description, a note, a reason): trimmed, `None` when empty, at most `max`
/// characters, and no control characters other than line breaks and tabs (escape sequences,
/// bells and the like would reach every screen that shows the text).
pub fn parse_free_text(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > max {
        return Err(FieldError::new(field, "TOO_LONG", format!("must be at most {max} characters")));
    }
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(FieldError::new(field, "INVALID", "must not contain control characters"));
    }
    Ok(Some(text.to_owned()))
}
