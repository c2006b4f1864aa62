//! The root types, wrapped so that an API key's scopes are checked where each root field
//! executes, not only by a walk over the document.
//!
//! A walk over the document can be fooled (fragments nested past its depth, spreads it does not
//! follow); execution cannot: whatever way a root field was reached, async-graphql resolves it
//! through the root type's `resolve_field` (queries and mutations) or `create_field_stream`
//! (subscriptions). [`Scoped`] and [`ScopedSubscription`] stand in front of those and ask
//! [`super::access::field_open_to_key`] first. A field that table does not name is closed to keys
//! (fail closed), so a root field added later is refused to keys until someone decides its scopes.
//!
//! Members are not affected here: their role is checked by each resolver. The check costs one
//! table lookup per root field, nothing per nested field.
//!
//! The same place bounds an operation's work (see [`ExecutionBudget`]): root fields wait for
//! one of a few places, and only a few expensive ones may run.

use std::borrow::Cow;
use std::pin::Pin;

use async_graphql::futures_util::Stream;
use async_graphql::parser::types::{Field, OperationType};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::resolve_container;
use async_graphql::{
    ContainerType, Context, ContextSelectionSet, ObjectType, OutputType, Positioned, Response, ServerError,
    ServerResult, SubscriptionType, Value,
};

use super::access::ExecutionBudget;
use crate::core::principal::Auth;

/// FORBIDDEN when the caller is an API key whose scopes do not open the root field `ctx` is at.
fn check_root_field(ctx: &Context<'_>, operation: OperationType) -> ServerResult<()> {
    let Some(Auth::Member(principal)) = ctx.data_opt::<Auth>() else { return Ok(()) };
    let Some(key) = &principal.api_key else { return Ok(()) };
    let field = ctx.item.node.name.node.as_str();
    if super::access::field_open_to_key(operation, field, &key.scopes) {
        return Ok(());
    }
    Err(ctx.set_error_path(super::access::scope_refusal(operation, field, &key.scopes, Some(ctx.item.pos))))
}

/// A query or mutation root whose fields are checked against an API key's scopes as they execute.
pub struct Scoped<T> {
    inner: T,
    operation: OperationType,
}

impl<T> Scoped<T> {
    /// The query root.
    pub fn query(inner: T) -> Self {
        Scoped { inner, operation: OperationType::Query }
    }

    /// The mutation root.
    pub fn mutation(inner: T) -> Self {
        Scoped { inner, operation: OperationType::Mutation }
    }
}

impl<T: ObjectType> OutputType for Scoped<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, _field: &Positioned<Field>) -> ServerResult<Value> {
        resolve_container(ctx, self).await
    }
}

impl<T: ObjectType> Scoped<T> {
    async fn resolve_checked(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        check_root_field(ctx, self.operation)?;
        // An operation's root fields share a few places, and only a few may be expensive: one
        // document with hundreds of aliases cannot hold the connection pool or queue roll-ups.
        let Some(budget) = ctx.data_opt::<ExecutionBudget>() else {
            return self.inner.resolve_field(ctx).await;
        };
        let field = ctx.item.node.name.node.as_str();
        if super::access::is_expensive(self.operation, field) && !budget.admit_expensive() {
            return Err(ctx.set_error_path(super::access::too_many_expensive(ctx.item.pos)));
        }
        let _place = budget.place().await;
        self.inner.resolve_field(ctx).await
    }
}

/// Whether the root field `ctx` is at has a non-null type (`Member!`, `[Deal!]!`).
fn non_null_root(ctx: &Context<'_>, root: &str) -> bool {
    let registry = &ctx.schema_env.registry;
    registry
        .types
        .get(root)
        .and_then(|t| t.field_by_name(ctx.item.node.name.node.as_str()))
        .is_some_and(|f| f.ty.ends_with('!'))
}

impl<T: ObjectType> ContainerType for Scoped<T> {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        // async-graphql leaves a failed root field out of `data` and keeps its siblings. The
        // spec answers null for a failed nullable field, and nulls the parent of a failed non-null
        // one, which for a root field is `data` itself: the error is marked here and `data`
        // nulled once execution ends (`access`).
        match self.resolve_checked(ctx).await {
            Err(mut error) if non_null_root(ctx, &T::type_name()) => {
                error.extensions.get_or_insert_with(Default::default).set(super::access::ROOT_NULLED, true);
                Err(error)
            }
            Err(error) => {
                ctx.add_error(error);
                Ok(Some(Value::Null))
            }
            other => other,
        }
    }

    async fn find_entity(&self, ctx: &Context<'_>, params: &Value) -> ServerResult<Option<Value>> {
        self.inner.find_entity(ctx, params).await
    }
}

impl<T: ObjectType> ObjectType for Scoped<T> {}

/// The subscription root, its fields checked against an API key's scopes as each stream starts.
pub struct ScopedSubscription<T>(pub T);

impl<T: SubscriptionType> SubscriptionType for ScopedSubscription<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    fn create_field_stream<'a>(
        &'a self,
        ctx: &'a Context<'_>,
    ) -> Option<Pin<Box<dyn Stream<Item = Response> + Send + 'a>>> {
        if let Err(error) = check_root_field(ctx, OperationType::Subscription) {
            let refused: Vec<ServerError> = vec![error];
            return Some(Box::pin(async_graphql::futures_util::stream::once(
                async move { Response::from_errors(refused) },
            )));
        }
        self.0.create_field_stream(ctx)
    }
}
