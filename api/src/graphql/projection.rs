//! Lists of plain values answered without per-field execution.
//!
//! async-graphql executes every field of every list item as its own future: a context, a path
//! node, a boxed future and a map entry per field. For an item whose fields are values already
//! in memory (a deal's checklist entries, say) that bookkeeping is nearly all of the work. A
//! [`Projected`] list answers such items by walking the selection set once per item and
//! writing the values straight into the answer.
//!
//! It is the same answer, not a shortcut around the rules: the query has been parsed and
//! validated (cost, depth, scopes) before execution starts, and a projection only reads fields
//! the type declares, in the order asked, under their aliases. Whatever a projection does not
//! handle — a field with arguments, a directive left in a fragment, a fragment on another
//! type, a response key asked twice (which GraphQL merges), a field the item cannot answer
//! from memory — makes the whole list fall back to async-graphql's own execution, which
//! answers it exactly as before.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{Context, ContextSelectionSet, Lookahead, Name, OutputType, Positioned, ServerResult, Value};

/// A type whose fields can be read straight from memory.
pub trait Project {
    /// The GraphQL type name (what `__typename` answers).
    const TYPE: &'static str;

    /// The value of the field `name` with its own selection (empty for a leaf); `None` when
    /// this field cannot be answered so (the list then falls back to full execution).
    fn project(&self, name: &str, selection: &Positioned<SelectionSet>, ctx: &ContextSelectionSet<'_>)
    -> Option<Value>;
}

/// A list answered by [`Project`] when the selection allows, by full execution otherwise. Its
/// schema is exactly that of `[T!]!`.
pub struct Projected<T>(pub Vec<T>);

impl<T> From<Vec<T>> for Projected<T> {
    fn from(items: Vec<T>) -> Self {
        Projected(items)
    }
}

impl<T: Project + OutputType> OutputType for Projected<T> {
    fn type_name() -> Cow<'static, str> {
        <Vec<T> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<T> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<T> as OutputType>::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        match list_of(&self.0, ctx.item, ctx) {
            Some(v) => {
                #[cfg(test)]
                tests::PROJECTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(v)
            }
            None => <Vec<T> as OutputType>::resolve(&self.0, ctx, field).await,
        }
    }
}

/// One item's answer to `selection`; `None` when it cannot be projected.
pub fn object<T: Project>(
    item: &T,
    selection: &Positioned<SelectionSet>,
    ctx: &ContextSelectionSet<'_>,
) -> Option<Value> {
    if is_plain(&selection.node) {
        return plain_object(item, &selection.node, ctx);
    }
    let mut out = IndexMap::with_capacity(selection.node.items.len());
    fields(item, &selection.node, ctx, &mut out, 0)?;
    Some(Value::Object(out))
}

/// Whether a selection is fields only: no fragment, directive or argument.
fn is_plain(selection: &SelectionSet) -> bool {
    selection.items.iter().all(|s| match &s.node {
        Selection::Field(f) => f.node.directives.is_empty() && f.node.arguments.is_empty(),
        _ => false,
    })
}

/// The answer to a plain selection: a copy of its [`shape`], filled in order.
fn plain_object<T: Project>(item: &T, selection: &SelectionSet, ctx: &ContextSelectionSet<'_>) -> Option<Value> {
    let mut out = shape(selection)?;
    for (i, s) in selection.items.iter().enumerate() {
        let Selection::Field(f) = &s.node else { return None };
        *out.get_index_mut(i)?.1 = field_value(item, &f.node, ctx)?;
    }
    Some(Value::Object(out))
}

/// One field's value for an item: `__typename`, or what the item projects.
fn field_value<T: Project>(item: &T, f: &Field, ctx: &ContextSelectionSet<'_>) -> Option<Value> {
    match f.name.node.as_str() {
        "__typename" => Some(Value::String(T::TYPE.to_owned())),
        name => item.project(name, &f.selection_set, ctx),
    }
}

/// Shapes kept per thread: most recently used first.
const SHAPES: usize = 32;

thread_local! {
    /// Answer maps of recent plain selections, their values null (see [`shape`]).
    static KEPT_SHAPES: std::cell::RefCell<Vec<IndexMap<Name, Value>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An empty answer map of a plain selection: its response keys in order, every value null;
/// `None` when a key is asked twice (GraphQL merges those: left to full execution).
///
/// Inserting a key into an answer map hashes it (SipHash), and a list of fifty items inserts
/// the same few keys fifty times: most of a projected list's own work. So the first map made
/// for a selection is kept on this thread, and the next items (and the next requests of the
/// same kept document, which shares its names) get a copy of it: copying a map copies its
/// hash table without hashing again. A kept shape is found by the identity of the selection's
/// key names (the same allocations, which the kept map holds alive), never by their text,
/// so a selection can only be answered with its own keys.
fn shape(selection: &SelectionSet) -> Option<IndexMap<Name, Value>> {
    let keys = || {
        selection.items.iter().filter_map(|s| match &s.node {
            Selection::Field(f) => Some(&f.node.response_key().node),
            _ => None,
        })
    };
    let same = |map: &IndexMap<Name, Value>| {
        map.len() == selection.items.len()
            && map.keys().zip(keys()).all(|(kept, asked)| std::ptr::eq(kept.as_str(), asked.as_str()))
    };
    let found = KEPT_SHAPES.with(|kept| {
        let mut kept = kept.borrow_mut();
        let at = kept.iter().position(same)?;
        let map = kept[at].clone();
        if at > 0 {
            let hit = kept.remove(at);
            kept.insert(0, hit);
        }
        Some(map)
    });
    if found.is_some() {
        return found;
    }
    let mut map = IndexMap::with_capacity(selection.items.len());
    for key in keys() {
        if map.insert(key.clone(), Value::Null).is_some() {
            return None;
        }
    }
    if map.len() != selection.items.len() {
        return None;
    }
    KEPT_SHAPES.with(|kept| {
        let mut kept = kept.borrow_mut();
        kept.truncate(SHAPES - 1);
        kept.insert(0, map.clone());
    });
    Some(map)
}

/// Fragments nested deeper than this are left to full execution.
const MAX_FRAGMENT_DEPTH: usize = 8;

fn fields<T: Project>(
    item: &T,
    selection: &SelectionSet,
    ctx: &ContextSelectionSet<'_>,
    out: &mut IndexMap<Name, Value>,
    depth: usize,
) -> Option<()> {
    if depth > MAX_FRAGMENT_DEPTH {
        return None;
    }
    for s in &selection.items {
        // `@skip` and `@include` are applied to the operation before execution; what remains
        // (in a fragment's definition, or another directive) is left to full execution.
        if !s.node.directives().is_empty() {
            return None;
        }
        match &s.node {
            Selection::Field(f) => {
                let f = &f.node;
                if !f.arguments.is_empty() {
                    return None;
                }
                let value = field_value(item, f, ctx)?;
                // A key asked twice is merged by GraphQL: left to full execution.
                if out.insert(f.response_key().node.clone(), value).is_some() {
                    return None;
                }
            }
            Selection::FragmentSpread(spread) => {
                let fragment = ctx.query_env.fragments.get(&spread.node.fragment_name.node)?;
                if fragment.node.type_condition.node.on.node.as_str() != T::TYPE {
                    return None;
                }
                fields(item, &fragment.node.selection_set.node, ctx, out, depth + 1)?;
            }
            Selection::InlineFragment(inline) => {
                if inline.node.type_condition.as_ref().is_some_and(|c| c.node.on.node.as_str() != T::TYPE) {
                    return None;
                }
                fields(item, &inline.node.selection_set.node, ctx, out, depth + 1)?;
            }
        }
    }
    Some(())
}

/// A nested list's answer: every item projected, or `None`.
pub fn list_of<'a, T: Project + 'a>(
    items: impl IntoIterator<Item = &'a T>,
    selection: &Positioned<SelectionSet>,
    ctx: &ContextSelectionSet<'_>,
) -> Option<Value> {
    let items = items.into_iter();
    let mut out = Vec::with_capacity(items.size_hint().0);
    for item in items {
        out.push(object(item, selection, ctx)?);
    }
    Some(Value::List(out))
}

/// A type whose items in one page (a connection's `nodes` or `edges`) are answered by
/// projection with what the page gathered once for all of them: the organization's directory,
/// say, or one batched query for a field every item asks.
pub trait ProjectPage: OutputType + Send + Sync + Sized {
    /// The GraphQL type name (what `__typename` answers).
    const TYPE: &'static str;

    /// What the items of a page share.
    type Shared: Send + Sync;

    /// Gathers, once, what `selection` (one item's selection, looked ahead) needs for `items`.
    fn gather(
        ctx: &Context<'_>,
        selection: Lookahead<'_>,
        items: &[&Self],
    ) -> impl Future<Output = async_graphql::Result<Self::Shared>> + Send;

    /// The value of the field `name` of this item, as [`Project::project`].
    fn project_in(
        &self,
        shared: &Self::Shared,
        name: &str,
        selection: &Positioned<SelectionSet>,
        ctx: &ContextSelectionSet<'_>,
    ) -> Option<Value>;
}

/// An item of a page with what the page gathered; executed as `T` when not projected.
pub struct InPage<'a, T: ProjectPage> {
    /// The item.
    pub item: &'a T,
    /// What the page gathered.
    pub shared: Arc<T::Shared>,
}

impl<T: ProjectPage> OutputType for InPage<'_, T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        self.item.resolve(ctx, field).await
    }
}

impl<T: ProjectPage> Project for InPage<'_, T> {
    const TYPE: &'static str = T::TYPE;

    fn project(
        &self,
        name: &str,
        selection: &Positioned<SelectionSet>,
        ctx: &ContextSelectionSet<'_>,
    ) -> Option<Value> {
        self.item.project_in(&self.shared, name, selection, ctx)
    }
}

/// A connection's edge type, as [`connection_type!`](crate::connection_type) declares it.
pub trait PageEdge: OutputType + Send + Sync {
    /// The GraphQL type name.
    const TYPE: &'static str;
    /// The item type.
    type Node: ProjectPage;
    /// The edge of `node` at `cursor`.
    fn new(cursor: String, node: Arc<Self::Node>) -> Self;
}

/// An edge of a page with what the page gathered; executed as `E` when not projected.
pub struct EdgeInPage<'a, E: PageEdge> {
    /// The cursor.
    pub cursor: &'a str,
    /// The item.
    pub node: &'a Arc<E::Node>,
    /// What the page gathered.
    pub shared: Arc<<E::Node as ProjectPage>::Shared>,
}

impl<E: PageEdge> OutputType for EdgeInPage<'_, E> {
    fn type_name() -> Cow<'static, str> {
        E::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        E::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        E::new(self.cursor.to_owned(), self.node.clone()).resolve(ctx, field).await
    }
}

impl<E: PageEdge> Project for EdgeInPage<'_, E> {
    const TYPE: &'static str = E::TYPE;

    fn project(
        &self,
        name: &str,
        selection: &Positioned<SelectionSet>,
        ctx: &ContextSelectionSet<'_>,
    ) -> Option<Value> {
        match name {
            "cursor" => leaf(selection, self.cursor.to_owned()),
            "node" => object(&InPage { item: self.node.as_ref(), shared: self.shared.clone() }, selection, ctx),
            _ => None,
        }
    }
}

/// A page's `nodes`, answered by projection where the selection allows.
pub async fn page_nodes<'a, T: ProjectPage>(
    ctx: &Context<'_>,
    items: &'a [(String, Arc<T>)],
) -> async_graphql::Result<Projected<InPage<'a, T>>> {
    let refs: Vec<&T> = items.iter().map(|(_, n)| n.as_ref()).collect();
    let shared = Arc::new(T::gather(ctx, ctx.look_ahead(), &refs).await?);
    Ok(Projected(refs.into_iter().map(|item| InPage { item, shared: shared.clone() }).collect()))
}

/// A page's `edges`, answered by projection where the selection allows.
pub async fn page_edges<'a, E: PageEdge>(
    ctx: &Context<'_>,
    items: &'a [(String, Arc<E::Node>)],
) -> async_graphql::Result<Projected<EdgeInPage<'a, E>>> {
    let refs: Vec<&E::Node> = items.iter().map(|(_, n)| n.as_ref()).collect();
    let shared = Arc::new(E::Node::gather(ctx, ctx.look_ahead().field("node"), &refs).await?);
    Ok(Projected(items.iter().map(|(cursor, node)| EdgeInPage { cursor, node, shared: shared.clone() }).collect()))
}

/// A leaf's value: `None` when the field was given a selection (the schema has no such thing
/// for a leaf; left to full execution, which reports it).
pub fn leaf(selection: &Positioned<SelectionSet>, value: impl Into<Value>) -> Option<Value> {
    selection.node.items.is_empty().then(|| value.into())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema, SimpleObject, Variables};

    use super::*;

    /// Lists the projection answered.
    pub(super) static PROJECTED: AtomicUsize = AtomicUsize::new(0);

    #[derive(SimpleObject, Clone)]
    struct Inner {
        label: String,
        weight: Option<i32>,
    }

    #[derive(SimpleObject, Clone)]
    struct Row {
        id: i32,
        done: bool,
        note: Option<String>,
        inner: Inner,
    }

    impl Project for Inner {
        const TYPE: &'static str = "Inner";
        fn project(&self, name: &str, s: &Positioned<SelectionSet>, _: &ContextSelectionSet<'_>) -> Option<Value> {
            match name {
                "label" => leaf(s, self.label.clone()),
                "weight" => leaf(s, self.weight.map_or(Value::Null, Value::from)),
                _ => None,
            }
        }
    }

    impl Project for Row {
        const TYPE: &'static str = "Row";
        fn project(&self, name: &str, s: &Positioned<SelectionSet>, ctx: &ContextSelectionSet<'_>) -> Option<Value> {
            match name {
                "id" => leaf(s, self.id),
                "done" => leaf(s, self.done),
                "note" => leaf(s, self.note.clone().map_or(Value::Null, Value::String)),
                "inner" => object(&self.inner, s, ctx),
                _ => None,
            }
        }
    }

    fn rows() -> Vec<Row> {
        (0..3)
            .map(|i| Row {
                id: i,
                done: i % 2 == 0,
                note: (i != 1).then(|| format!("note {i}")),
                inner: Inner { label: format!("item {i}"), weight: (i > 0).then_some(i * 10) },
            })
            .collect()
    }

    struct Query;

    #[Object]
    impl Query {
        async fn fast(&self) -> Projected<Row> {
            Projected(rows())
        }
        async fn plain(&self) -> Vec<Row> {
            rows()
        }
    }

    /// The same selection on the projected and the plainly executed list gives the same answer;
    /// whether the projection answered it.
    async fn same(selection: &str, fragments: &str, variables: serde_json::Value) -> bool {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let run = |field: &str| {
            let defs = if selection.contains('$') { "($yes: Boolean = true, $no: Boolean = false)" } else { "" };
            let query = format!("query{defs} {{ {field} {selection} }} {fragments}");
            let vars = Variables::from_json(variables.clone());
            let schema = schema.clone();
            async move { schema.execute(async_graphql::Request::new(query).variables(vars)).await }
        };
        let plain = run("plain").await;
        assert!(plain.errors.is_empty(), "{selection}: {:?}", plain.errors);
        let before = PROJECTED.load(Ordering::Relaxed);
        let fast = run("fast").await;
        let projected = PROJECTED.load(Ordering::Relaxed) > before;
        let json = |r: &async_graphql::Response| {
            let v = r.data.clone().into_json().unwrap();
            serde_json::to_string(&v[if v.get("fast").is_some() { "fast" } else { "plain" }]).unwrap()
        };
        assert_eq!(json(&fast), json(&plain), "{selection} {fragments}");
        assert_eq!(fast.errors.len(), plain.errors.len());
        projected
    }

    #[tokio::test]
    async fn projected_answers_equal_executed_ones() {
        // Answered by the projection.
        for (selection, fragments) in [
            ("{ id done note inner { label weight } }", ""),
            ("{ note id }", ""),
            ("{ __typename a: id b: done inner { __typename l: label } }", ""),
            ("{ ...R }", "fragment R on Row { id inner { label } }"),
            ("{ id ... on Row { done } ... { note } }", ""),
            ("{ inner { ...I } }", "fragment I on Inner { weight label }"),
            ("{ id @include(if: $yes) done @skip(if: $yes) note @skip(if: $no) }", ""),
            ("{ id ...R }", "fragment R on Row { inner @skip(if: true) { label } done }"),
        ] {
            assert!(same(selection, fragments, serde_json::json!({})).await, "{selection} was not projected");
        }
        // Left to full execution, with the same answer.
        for (selection, fragments) in [
            ("{ id id }", ""),
            ("{ ...R ...R }", "fragment R on Row { id }"),
            ("{ inner { label } inner { weight } }", ""),
        ] {
            assert!(!same(selection, fragments, serde_json::json!({})).await, "{selection} was projected");
        }
        // Variables decide @skip and @include in the operation.
        assert!(same("{ id @include(if: $yes) done @include(if: $no) }", "", serde_json::json!({"no": true})).await);
    }

    fn selection_of(query: &str) -> SelectionSet {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        let (_, op) = doc.operations.iter().next().unwrap();
        op.node.selection_set.node.clone()
    }

    fn kept_shapes() -> usize {
        KEPT_SHAPES.with(|k| k.borrow().len())
    }

    #[test]
    fn shapes_are_kept_by_the_identity_of_their_names() {
        KEPT_SHAPES.with(|k| k.borrow_mut().clear());
        let first = selection_of("{ id b: done note }");
        let shape_keys = |set: &SelectionSet| shape(set).map(|m| m.keys().map(|k| k.to_string()).collect::<Vec<_>>());
        assert_eq!(shape_keys(&first), Some(vec!["id".into(), "b".into(), "note".into()]));
        assert_eq!(kept_shapes(), 1);
        // The same selection (a kept document's copy shares its names): the kept shape.
        let copy = first.clone();
        let again = shape(&copy).unwrap();
        assert_eq!(kept_shapes(), 1, "found, not made again");
        assert!(again.values().all(|v| *v == Value::Null), "a kept shape has no values");
        let Selection::Field(id) = &first.items[0].node else { panic!("a field") };
        let kept_key = again.keys().next().unwrap().as_str();
        assert!(std::ptr::eq(kept_key, id.node.response_key().node.as_str()), "the selection's own name");
        // The same text parsed again: other names, its own shape (never matched by text).
        let reparsed = selection_of("{ id b: done note }");
        assert_eq!(shape_keys(&reparsed), Some(vec!["id".into(), "b".into(), "note".into()]));
        assert_eq!(kept_shapes(), 2);
        // A prefix of a kept selection is not that selection.
        let mut shorter = first.clone();
        shorter.items.pop();
        assert_eq!(shape_keys(&shorter), Some(vec!["id".into(), "b".into()]));
        assert_eq!(kept_shapes(), 3);
        // A key asked twice has no shape and is not kept.
        assert!(shape(&selection_of("{ id id }")).is_none());
        assert!(shape(&selection_of("{ a: id a: done }")).is_none());
        assert_eq!(kept_shapes(), 3);
        // Bounded.
        let many: Vec<SelectionSet> = (0..SHAPES + 5).map(|i| selection_of(&format!("{{ f{i} }}"))).collect();
        for set in &many {
            assert!(shape(set).is_some());
        }
        assert_eq!(kept_shapes(), SHAPES);
    }
}
