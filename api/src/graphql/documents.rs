//! Parsed and validated documents, kept by query text: clients send the same few operations
//! over and over (a phone logging calls, a screen polling its board). Parsing one with
//! async-graphql's pest grammar costs more than executing a small mutation's resolver, and
//! validating it (twenty-odd rules walking every field, then the cost) about a tenth of a
//! board's whole request.
//!
//! - **Parsing** is a function of the text alone, so the parsed document is kept by text. The
//!   request hooks ([`super::hooks`]) ask this cache in place of the parser; every check on the
//!   parsed document (field count, API key scopes, transport) still runs on each request.
//! - **Validation** is a function of the document, the operation name and the variables' values
//!   (they are checked against argument types, and page sizes price the cost), against the one
//!   schema. Its outcome is kept beside the document under the operation name and the variables
//!   as JSON, so a different value is validated afresh. What is kept is the result
//!   (complexity, depth, cache control) and the selection costs noted while pricing it; the
//!   caller's budget is still charged on every request.
//! - Parse and validation errors are not kept. Both are bounded: by count, by the length of the
//!   text kept, and by the variants kept per document.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Pos, ServerResult, ValidationResult, Variables};

/// Most documents kept; when full, the cache starts over.
const CAPACITY: usize = 1_000;
/// Longest query text kept (longer ones are parsed every time).
const MAX_QUERY_BYTES: usize = 16 * 1024;
/// Most validation outcomes kept per document (operation and variables); when full, that
/// document's outcomes start over.
const VARIANTS: usize = 16;
/// Longest variables (as JSON) whose validation is kept; larger inputs are validated each time.
const MAX_VARIABLES_BYTES: usize = 2 * 1024;

/// A validation's outcome: the result and the selection costs noted while pricing it.
pub type Validated = (ValidationResult, HashMap<Pos, usize>);

/// One kept document and the validations it passed.
struct Kept {
    doc: ExecutableDocument,
    validated: Mutex<HashMap<(Option<String>, String), Validated>>,
}

/// Where one request's validation outcome is kept: its document's entry and its key there.
pub struct ValidationSlot {
    kept: Arc<Kept>,
    key: (Option<String>, String),
}

impl ValidationSlot {
    /// The outcome kept for this operation and these variables, if it was validated before.
    pub fn get(&self) -> Option<Validated> {
        self.kept.validated.lock().unwrap_or_else(|e| e.into_inner()).get(&self.key).cloned()
    }

    /// Keeps a successful validation's outcome.
    pub fn put(self, validated: Validated) {
        let mut kept = self.kept.validated.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() >= VARIANTS {
            kept.clear();
        }
        kept.insert(self.key, validated);
    }
}

/// See the module documentation.
#[derive(Clone, Default)]
pub struct DocumentCache {
    documents: Arc<RwLock<HashMap<String, Arc<Kept>>>>,
}

impl DocumentCache {
    /// The kept entry of `query`, if any.
    fn get(&self, query: &str) -> Option<Arc<Kept>> {
        self.documents.read().unwrap_or_else(|e| e.into_inner()).get(query).cloned()
    }

    fn put(&self, query: &str, doc: &ExecutableDocument) -> Option<Arc<Kept>> {
        if query.len() > MAX_QUERY_BYTES {
            return None;
        }
        let kept = Arc::new(Kept { doc: doc.clone(), validated: Mutex::default() });
        let mut documents = self.documents.write().unwrap_or_else(|e| e.into_inner());
        if documents.len() >= CAPACITY {
            documents.clear();
        }
        documents.insert(query.to_owned(), kept.clone());
        Some(kept)
    }

    /// The kept document of `query`, or the one `parse` makes (kept when it parsed); with the
    /// slot where the validation of this operation and these variables is kept, when the
    /// document is kept and the variables are small enough.
    pub async fn get_or_parse(
        &self,
        query: &str,
        operation: Option<&str>,
        variables: &Variables,
        parse: impl Future<Output = ServerResult<ExecutableDocument>>,
    ) -> ServerResult<(ExecutableDocument, Option<ValidationSlot>)> {
        let (doc, kept) = match self.get(query) {
            Some(kept) => (kept.doc.clone(), Some(kept)),
            None => {
                let doc = parse.await?;
                let kept = self.put(query, &doc);
                (doc, kept)
            }
        };
        let slot = kept.and_then(|kept| {
            let variables = serde_json::to_string(variables).ok().filter(|v| v.len() <= MAX_VARIABLES_BYTES)?;
            Some(ValidationSlot { kept, key: (operation.map(str::to_owned), variables) })
        });
        Ok((doc, slot))
    }

    /// How many documents are kept.
    pub fn len(&self) -> usize {
        self.documents.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(q).unwrap()
    }

    async fn parse_async(q: &str) -> ServerResult<ExecutableDocument> {
        async_graphql::parser::parse_query(q).map_err(|e| async_graphql::ServerError::new(e.to_string(), None))
    }

    fn validated(complexity: usize) -> Validated {
        let result = ValidationResult { cache_control: Default::default(), complexity, depth: 2 };
        (result, HashMap::from([(Pos { line: 1, column: 3 }, complexity)]))
    }

    fn variables(json: serde_json::Value) -> Variables {
        Variables::from_json(json)
    }

    #[test]
    fn keeps_documents_by_text_and_starts_over_when_full() {
        let cache = DocumentCache::default();
        let q = "query($m: ID) { score(memberId: $m) { points } }";
        assert!(cache.get(q).is_none());
        cache.put(q, &parse(q));
        let kept = cache.get(q).unwrap();
        assert_eq!(format!("{:?}", kept.doc), format!("{:?}", parse(q)), "the same document as parsing again");
        assert!(cache.get("{ __typename }").is_none(), "by exact text");
        for i in 1..CAPACITY {
            let q = format!("{{ f{i} }}");
            cache.put(&q, &parse(&q));
        }
        assert_eq!(cache.len(), CAPACITY);
        cache.put("{ last }", &parse("{ last }"));
        assert_eq!(cache.len(), 1, "full: started over");
        let long = format!("{{ {} }}", "a ".repeat(MAX_QUERY_BYTES));
        assert!(cache.put(&long, &parse("{ a }")).is_none());
        assert!(cache.get(&long).is_none(), "over-long texts are not kept");
    }

    #[tokio::test]
    async fn parse_errors_are_not_kept_and_documents_are() {
        let cache = DocumentCache::default();
        let none = Variables::default();
        assert!(cache.get_or_parse("{ __typename ", None, &none, parse_async("{ __typename ")).await.is_err());
        assert!(cache.is_empty(), "a parse error is not kept");
        let (first, _) =
            cache.get_or_parse("{ __typename }", None, &none, parse_async("{ __typename }")).await.unwrap();
        assert_eq!(cache.len(), 1);
        let (second, _) = cache.get_or_parse("{ __typename }", None, &none, parse_async("{ a b c }")).await.unwrap();
        assert_eq!(format!("{first:?}"), format!("{second:?}"), "the kept document answers, not the parser");
    }

    #[tokio::test]
    async fn validations_are_kept_per_operation_and_variables() {
        let cache = DocumentCache::default();
        let q = "query A($n: Int) { a(first: $n) } query B { b }";
        let slot = |op: Option<&'static str>, vars: serde_json::Value| {
            let cache = cache.clone();
            async move { cache.get_or_parse(q, op, &variables(vars), parse_async(q)).await.unwrap().1.unwrap() }
        };
        let first = slot(Some("A"), serde_json::json!({"n": 5})).await;
        assert!(first.get().is_none(), "nothing validated yet");
        first.put(validated(7));
        let again = slot(Some("A"), serde_json::json!({"n": 5})).await;
        let (result, noted) = again.get().expect("the same operation and variables");
        assert_eq!((result.complexity, result.depth), (7, 2));
        assert_eq!(noted.get(&Pos { line: 1, column: 3 }), Some(&7), "the noted selection costs come back");
        assert!(slot(Some("A"), serde_json::json!({"n": 500})).await.get().is_none(), "another value");
        assert!(slot(Some("A"), serde_json::json!({"n": "5"})).await.get().is_none(), "another type");
        assert!(slot(Some("A"), serde_json::json!({})).await.get().is_none(), "no variables");
        assert!(slot(Some("B"), serde_json::json!({"n": 5})).await.get().is_none(), "another operation");
        assert!(slot(None, serde_json::json!({"n": 5})).await.get().is_none(), "no operation name");

        for n in 0..VARIANTS {
            slot(Some("A"), serde_json::json!({ "n": 100 + n })).await.put(validated(n));
        }
        assert!(slot(Some("A"), serde_json::json!({"n": 5})).await.get().is_none(), "full: started over");
        assert!(slot(Some("A"), serde_json::json!({"n": 100 + VARIANTS - 1})).await.get().is_some());

        let big = serde_json::json!({ "n": "x".repeat(MAX_VARIABLES_BYTES) });
        let none = cache.get_or_parse(q, Some("A"), &variables(big), parse_async(q)).await.unwrap().1;
        assert!(none.is_none(), "large variables are validated every time");
        let long = format!("{{ {} }}", "a ".repeat(MAX_QUERY_BYTES));
        let none = cache.get_or_parse(&long, None, &Variables::default(), parse_async(&long)).await.unwrap().1;
        assert!(none.is_none(), "a document that is not kept keeps no validation");
    }
}
