//! Actual cost: what an operation cost once it ran, by the same formula as its requested cost
//! (async-graphql's complexity) applied to what came back.
//!
//! The requested cost prices each connection at its full page and each `node`/`nodes` ID as
//! found. While validating, the complexity of each priced field's selection (one item's worth)
//! is noted by position ([`note_selection`]); while executing, a connection that returns fewer
//! items than its page size, or a `node` that resolves to null, reports the unused items
//! ([`unused_items`]), each worth its selection. Actual = requested − unused, and the unused
//! points go back to the caller's bucket.
//!
//! Positions are a document's, so a field reached twice through one fragment has one entry: its
//! selection, hence its per-item cost, is the same both times.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::{Context, Pos};

thread_local! {
    /// Selection costs noted while validating one document on this thread; `None` when not
    /// recording (complexity computed elsewhere, e.g. in tests, is not kept).
    static NOTED: RefCell<Option<HashMap<Pos, usize>>> = const { RefCell::new(None) };
}

/// Starts noting selection costs for the document about to be validated on this thread.
pub fn start_noting() {
    NOTED.with(|n| *n.borrow_mut() = Some(HashMap::new()));
}

/// The selection costs noted since [`start_noting`], and stops noting.
pub fn take_noted() -> HashMap<Pos, usize> {
    NOTED.with(|n| n.borrow_mut().take()).unwrap_or_default()
}

/// Where a field stands in the document: its name's position (unique per field, alias or not).
fn position(field: &async_graphql::parser::types::Field) -> Pos {
    field.name.pos
}

/// Notes the cost of one item's selection of the priced `field` (called from the complexity
/// expressions, which validation runs synchronously).
pub fn note_selection(field: &async_graphql::parser::types::Field, child_complexity: usize) {
    note_at(position(field), child_complexity);
}

fn note_at(pos: Pos, child_complexity: usize) {
    NOTED.with(|n| {
        if let Some(map) = n.borrow_mut().as_mut() {
            map.insert(pos, child_complexity);
        }
    });
}

/// Complexity of `node(id:)`: the field and its selection, noted so that a null refunds it.
pub fn node_cost(field: &async_graphql::parser::types::Field, child: usize) -> usize {
    note_selection(field, child);
    1 + child
}

/// Complexity of `nodes(ids:)`: each ID its selection.
pub fn nodes_cost(field: &async_graphql::parser::types::Field, ids: usize, child: usize) -> usize {
    note_selection(field, child);
    ids.max(1) * (1 + child)
}

/// What one operation did not use of its requested cost, put in its execution data.
#[derive(Debug, Default)]
pub struct CostLedger {
    selections: HashMap<Pos, usize>,
    unused: AtomicUsize,
}

impl CostLedger {
    /// A ledger for an operation whose priced selections cost `selections`.
    pub fn new(selections: HashMap<Pos, usize>) -> Self {
        CostLedger { selections, unused: AtomicUsize::new(0) }
    }

    /// Points not used so far.
    pub fn unused(&self) -> usize {
        self.unused.load(Ordering::Relaxed)
    }

    fn add(&self, pos: Pos, items: usize, per_item_extra: usize) {
        let Some(per_item) = self.selections.get(&pos) else { return };
        self.unused.fetch_add(items.saturating_mul(per_item + per_item_extra), Ordering::Relaxed);
    }
}

/// Reports that the priced field `ctx` is at returned `items` fewer items than it was priced for.
pub fn unused_items(ctx: &Context<'_>, items: usize) {
    if items == 0 {
        return;
    }
    if let Some(ledger) = ctx.data_opt::<std::sync::Arc<CostLedger>>() {
        ledger.add(position(&ctx.item.node), items, 0);
    }
}

/// Reports that `nulls` of the IDs of `nodes`/`node` at `ctx` resolved to nothing; each was
/// priced at its selection plus `extra` (1 for `nodes`, whose items count themselves).
pub fn unresolved_nodes(ctx: &Context<'_>, nulls: usize, extra: usize) {
    if nulls == 0 {
        return;
    }
    if let Some(ledger) = ctx.data_opt::<std::sync::Arc<CostLedger>>() {
        ledger.add(position(&ctx.item.node), nulls, extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noting_only_while_recording_and_refunds_by_position() {
        let here = Pos { line: 1, column: 3 };
        note_at(here, 9);
        assert!(take_noted().is_empty(), "not recording");
        start_noting();
        note_at(here, 7);
        note_at(Pos { line: 2, column: 1 }, 4);
        let noted = take_noted();
        assert_eq!(noted.get(&here), Some(&7));
        assert!(take_noted().is_empty(), "taking stops recording");
        let ledger = CostLedger::new(noted);
        ledger.add(here, 10, 0);
        ledger.add(Pos { line: 2, column: 1 }, 2, 1);
        ledger.add(Pos { line: 9, column: 9 }, 100, 0);
        assert_eq!(ledger.unused(), 70 + 10, "an unknown position refunds nothing");
    }
}
