//! Parsed documents, kept by query text: clients send the same few operations over and over
//! (a phone logging calls, a screen polling its board), and parsing one with async-graphql's
//! pest grammar costs more than executing a small mutation's resolver. The request hooks
//! ([`super::hooks`]) ask it in place of the parser, so every check on the parsed document (field
//! count, API key scopes) still runs on each request; it only replaces the parser's work. Parse
//! errors are not kept. Bounded by count and by the length of the text kept.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_graphql::ServerResult;
use async_graphql::parser::types::ExecutableDocument;

/// Most documents kept; when full, the cache starts over.
const CAPACITY: usize = 1_000;
/// Longest query text kept (longer ones are parsed every time).
const MAX_QUERY_BYTES: usize = 16 * 1024;

/// See the module documentation.
#[derive(Clone, Default)]
pub struct DocumentCache {
    documents: Arc<RwLock<HashMap<String, ExecutableDocument>>>,
}

impl DocumentCache {
    /// The kept document of `query`, if any.
    fn get(&self, query: &str) -> Option<ExecutableDocument> {
        self.documents.read().unwrap_or_else(|e| e.into_inner()).get(query).cloned()
    }

    fn put(&self, query: &str, doc: &ExecutableDocument) {
        if query.len() > MAX_QUERY_BYTES {
            return;
        }
        let mut documents = self.documents.write().unwrap_or_else(|e| e.into_inner());
        if documents.len() >= CAPACITY {
            documents.clear();
        }
        documents.insert(query.to_owned(), doc.clone());
    }

    /// The kept document of `query`, or the one `parse` makes (kept when it parsed).
    pub async fn get_or_parse(
        &self,
        query: &str,
        parse: impl Future<Output = ServerResult<ExecutableDocument>>,
    ) -> ServerResult<ExecutableDocument> {
        if let Some(doc) = self.get(query) {
            return Ok(doc);
        }
        let doc = parse.await?;
        self.put(query, &doc);
        Ok(doc)
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

    #[test]
    fn keeps_documents_by_text_and_starts_over_when_full() {
        let cache = DocumentCache::default();
        let q = "query($m: ID) { score(memberId: $m) { points } }";
        assert!(cache.get(q).is_none());
        cache.put(q, &parse(q));
        let kept = cache.get(q).unwrap();
        assert_eq!(format!("{kept:?}"), format!("{:?}", parse(q)), "the same document as parsing again");
        assert!(cache.get("{ __typename }").is_none(), "by exact text");
        for i in 1..CAPACITY {
            let q = format!("{{ f{i} }}");
            cache.put(&q, &parse(&q));
        }
        assert_eq!(cache.len(), CAPACITY);
        cache.put("{ last }", &parse("{ last }"));
        assert_eq!(cache.len(), 1, "full: started over");
        let long = format!("{{ {} }}", "a ".repeat(MAX_QUERY_BYTES));
        cache.put(&long, &parse("{ a }"));
        assert!(cache.get(&long).is_none(), "over-long texts are not kept");
    }

    #[tokio::test]
    async fn parse_errors_are_not_kept_and_documents_are() {
        let cache = DocumentCache::default();
        let parse = |q: &'static str| async move {
            async_graphql::parser::parse_query(q).map_err(|e| async_graphql::ServerError::new(e.to_string(), None))
        };
        assert!(cache.get_or_parse("{ __typename ", parse("{ __typename ")).await.is_err());
        assert!(cache.is_empty(), "a parse error is not kept");
        let first = cache.get_or_parse("{ __typename }", parse("{ __typename }")).await.unwrap();
        assert_eq!(cache.len(), 1);
        let second = cache.get_or_parse("{ __typename }", parse("{ a b c }")).await.unwrap();
        assert_eq!(format!("{first:?}"), format!("{second:?}"), "the kept document answers, not the parser");
    }
}
