//! Every request-level check, as one async-graphql extension.
//!
//! async-graphql runs the chain of installed extensions around every resolved field and list
//! item as soon as one extension is installed (it builds the field's `ResolveInfo` and awaits
//! one boxed future per extension), even when none of them looks at fields. Five extensions
//! cost five nested futures per field; on a board of 50 entries that was most of the
//! execution's own work. So the request-level parts — observability, persisted queries,
//! the access gates, the HTTP transport and the document cache — are plain values called here,
//! in one extension and in a fixed order:
//!
//! 1. **prepare**: the operation name is noted; a persisted query's text is looked up or
//!    registered.
//! 2. **parse**: too-deep text is refused unparsed; the document comes from the cache or the
//!    parser; then the transport (GET runs queries only, required variables), the API key's
//!    scopes, and the field count and NUL checks see it, cached or not.
//! 3. **validate**: async-graphql's rules (or the outcome kept for this document, operation and
//!    variables), then the cost taken from the caller's budget.
//! 4. **execute**: the log line and the transport learn that execution started; the
//!    execution gets its work bounds; afterwards a failed non-null root nulls `data`, an
//!    oversized answer is refused, and the operation's name may become a metrics label.
//! 5. **answer**: the cost goes into `extensions.cost` (unused points go back), and every
//!    error gets a code and the request is counted.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest, NextRequest,
    NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, Response, ServerError, ServerResult, ValidationResult, Variables};

use super::access::{Access, AccessCheck};
use super::apq::PersistedQueries;
use super::documents::{DocumentCache, ValidationSlot};
use super::exchange::TransportCheck;
use super::observability::{self, Observability, Observation};

/// The extension factory: what every request shares.
pub struct RequestHooks {
    observability: Observability,
    persisted: PersistedQueries,
    access: Access,
    documents: DocumentCache,
}

impl RequestHooks {
    /// The hooks over these parts.
    pub fn new(observability: Observability, persisted: PersistedQueries, access: Access) -> Self {
        RequestHooks { observability, persisted, access, documents: DocumentCache::default() }
    }
}

impl ExtensionFactory for RequestHooks {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Hooks {
            observation: self.observability.begin(),
            persisted: self.persisted.clone(),
            access: self.access.begin(),
            transport: TransportCheck::default(),
            documents: self.documents.clone(),
            operation: Mutex::default(),
            validation: Mutex::default(),
        })
    }
}

/// One request's hooks.
struct Hooks {
    observation: Observation,
    persisted: PersistedQueries,
    access: AccessCheck,
    transport: TransportCheck,
    documents: DocumentCache,
    /// The operation name the request asked for.
    operation: Mutex<Option<String>>,
    /// Where this request's validation outcome is kept, when its document is.
    validation: Mutex<Option<ValidationSlot>>,
}

#[async_trait::async_trait]
impl Extension for Hooks {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let mut response = next.run(ctx).await;
        self.access.finish(&mut response);
        self.observation.finish(ctx, &mut response, started);
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        self.observation.prepared(&request);
        let request = self.persisted.prepare(ctx, request).await?;
        self.transport.prepared(&request);
        *self.operation.lock().unwrap_or_else(|e| e.into_inner()) = request.operation_name.clone();
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        observability::check_text(query)?;
        let operation = self.operation.lock().unwrap_or_else(|e| e.into_inner()).take();
        let (doc, slot) = self
            .documents
            .get_or_parse(query, operation.as_deref(), variables, next.run(ctx, query, variables))
            .await?;
        *self.validation.lock().unwrap_or_else(|e| e.into_inner()) = slot;
        self.transport.check_document(ctx, &doc, variables)?;
        self.access.check_document(ctx, &doc)?;
        observability::check_document(&doc, variables)?;
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let slot = self.validation.lock().unwrap_or_else(|e| e.into_inner()).take();
        let validated = match slot.as_ref().and_then(ValidationSlot::get) {
            Some(kept) => Ok(kept),
            None => {
                super::cost::start_noting();
                let result = next.run(ctx).await;
                let noted = super::cost::take_noted();
                result.map(|result| {
                    if let Some(slot) = slot {
                        slot.put((result, noted.clone()));
                    }
                    (result, noted)
                })
            }
        };
        self.access.validation(ctx, validated)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        self.observation.executing(ctx, operation_name);
        let (data, ledger) = self.access.execution_data();
        self.transport.executing(ctx);
        let response = next.run_with_data(ctx, operation_name, data).await;
        let response = self.access.executed(&ledger, response);
        self.observation.executed(ctx, operation_name);
        response
    }
}
