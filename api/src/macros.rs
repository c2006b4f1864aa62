//! Macros shared by the domain models.

/// A closed set of values stored as SCREAMING_SNAKE strings and exposed as a GraphQL enum:
/// declares the enum with `as_str` (the stored form) and `parse` (unknown values are `None`).
/// Extra attributes (docs, more derives) are passed through.
macro_rules! stored_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }
        impl $name {
            /// The stored form.
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $s),+ } }
            /// Parses the stored form; unknown values are `None`.
            pub fn parse(s: &str) -> Option<Self> { match s { $($s => Some($name::$variant),)+ _ => None } }
        }
    };
}
