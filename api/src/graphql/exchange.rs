//! What the HTTP transport needs to know from inside GraphQL execution. Every HTTP request
//! carries an [`Exchange`] in its request data; the request hooks ([`super::hooks`]) mark it
//! when execution starts (so everything before — JSON, parsing, validation, variable
//! coercion, the rate limit — is a *request error*: no `data` entry, and a 4xx under
//! `application/graphql-response+json`), refuse a mutation or subscription that came by GET
//! (405), and check that every required variable was given (variable coercion, which
//! async-graphql would otherwise report only when a field reads it, mid-execution).

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::extensions::ExtensionContext;
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition, OperationType};
use async_graphql::{Request, ServerError, ServerResult, Variables};

/// One HTTP request's view of its GraphQL execution.
#[derive(Debug, Default)]
pub struct Exchange {
    /// The request came by GET: only queries may run.
    get: bool,
    executed: AtomicBool,
    refused_on_get: AtomicBool,
}

impl Exchange {
    /// For a POST.
    pub fn post() -> Arc<Self> {
        Arc::new(Exchange::default())
    }

    /// For a GET.
    pub fn get() -> Arc<Self> {
        Arc::new(Exchange { get: true, ..Exchange::default() })
    }

    /// Whether execution started (after parsing, validation, variables and the rate limit).
    pub fn executed(&self) -> bool {
        self.executed.load(Ordering::Acquire)
    }

    /// Whether a GET selected a mutation or subscription.
    pub fn refused_on_get(&self) -> bool {
        self.refused_on_get.load(Ordering::Acquire)
    }
}

/// One request's view of the transport, called by the request hooks at each step.
#[derive(Default)]
pub struct TransportCheck {
    operation: Mutex<Option<String>>,
}

/// The operation a request selects, as async-graphql will pick it (`None` when the selection
/// is invalid; validation then refuses the request).
pub fn selected_operation<'a>(doc: &'a ExecutableDocument, name: Option<&str>) -> Option<&'a OperationDefinition> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), None) => Some(&op.node),
        (DocumentOperations::Single(_), Some(_)) => None,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next().map(|op| &op.node),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// The first required variable (non-null, no default) that is missing or null.
pub fn missing_variable(op: &OperationDefinition, variables: &Variables) -> Option<String> {
    op.variable_definitions.iter().find_map(|def| {
        let def = &def.node;
        let required = !def.var_type.node.nullable && def.default_value.is_none();
        let given = variables.get(&def.name.node).is_some_and(|v| *v != async_graphql::Value::Null);
        (required && !given).then(|| {
            format!("Variable \"${}\" of required type \"{}\" was not provided.", def.name.node, def.var_type.node)
        })
    })
}

fn bad_request(message: String) -> ServerError {
    let mut err = ServerError::new(message, None);
    err.extensions.get_or_insert_with(Default::default).set("code", "BAD_USER_INPUT");
    err
}

impl TransportCheck {
    /// The request as sent: the operation it names.
    pub fn prepared(&self, request: &Request) {
        *self.operation.lock().unwrap_or_else(|e| e.into_inner()) = request.operation_name.clone();
    }

    /// After parsing: a GET selects a query, and every required variable is given.
    pub fn check_document(
        &self,
        ctx: &ExtensionContext<'_>,
        doc: &ExecutableDocument,
        variables: &Variables,
    ) -> ServerResult<()> {
        let Some(exchange) = ctx.data_opt::<Arc<Exchange>>() else { return Ok(()) };
        let name = self.operation.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(op) = selected_operation(doc, name.as_deref()) else { return Ok(()) };
        if exchange.get && op.ty != OperationType::Query {
            exchange.refused_on_get.store(true, Ordering::Release);
            return Err(bad_request(format!(
                "a {} cannot be sent with GET: send it with POST (GET runs queries only)",
                op.ty
            )));
        }
        if let Some(message) = missing_variable(op, variables) {
            return Err(bad_request(message));
        }
        Ok(())
    }

    /// Execution starts: every check that may refuse the request let it through.
    pub fn executing(&self, ctx: &ExtensionContext<'_>) {
        if let Some(exchange) = ctx.data_opt::<Arc<Exchange>>() {
            exchange.executed.store(true, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(doc: &ExecutableDocument, name: Option<&str>) -> Option<OperationType> {
        selected_operation(doc, name).map(|o| o.ty)
    }

    #[test]
    fn selects_the_operation_async_graphql_runs() {
        let doc = async_graphql::parser::parse_query("query A { a } mutation B { b }").unwrap();
        assert_eq!(op(&doc, Some("A")), Some(OperationType::Query));
        assert_eq!(op(&doc, Some("B")), Some(OperationType::Mutation));
        assert_eq!(op(&doc, None), None);
        assert_eq!(op(&doc, Some("C")), None);
        let single = async_graphql::parser::parse_query("mutation { b }").unwrap();
        assert_eq!(op(&single, None), Some(OperationType::Mutation));
        assert_eq!(op(&single, Some("X")), None);
        let named = async_graphql::parser::parse_query("subscription S { s }").unwrap();
        assert_eq!(op(&named, None), Some(OperationType::Subscription));
    }

    #[test]
    fn required_variables_must_be_given() {
        let doc = async_graphql::parser::parse_query("query($a: ID!, $b: ID, $c: Int! = 3, $d: [ID!]!) { x }").unwrap();
        let o = selected_operation(&doc, None).unwrap();
        let vars = |v: serde_json::Value| Variables::from_json(v);
        assert_eq!(missing_variable(o, &vars(serde_json::json!({"a": "1", "d": []}))), None);
        let missing = missing_variable(o, &vars(serde_json::json!({"d": []}))).unwrap();
        assert_eq!(missing, "Variable \"$a\" of required type \"ID!\" was not provided.");
        assert!(missing_variable(o, &vars(serde_json::json!({"a": null, "d": []}))).is_some());
        assert!(missing_variable(o, &vars(serde_json::json!({"a": "1"}))).unwrap().contains("$d"));
    }
}
