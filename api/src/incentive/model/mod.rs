//! Incentive money math: plan components, their validation, and one member's payout statement
//! for one period ([`compute_statement`]). Pure functions, no I/O.
//!
//! Money is [`Decimal`](rust_decimal::Decimal), never a float. Rates, attainments and thresholds are percents
//! (`5` means 5 %). Rounding to cents is half-even ([`round_cents`]) and happens per line
//! only: a statement's total is the exact sum of its rounded lines, so a rep can add the lines
//! up and get the total to the cent.
//!
//! # How a statement is computed
//!
//! Lines come in this order: commission, cap, bonus, SPIFF, team bonus, clawback, adjustment,
//! draw. Within a kind, components keep the plan's order. The same input always gives the
//! same output. Components are expected to have passed [`validate_components`].
//!
//! Every line's explanation is one sentence in a language ([`compute_statement_in`]; English
//! by [`compute_statement`]). The language changes that sentence only, never a line, an amount
//! or a stored label such as the tier's.
//!
//! - **Credited revenue** is the sum of the member's credits for won deals closed in the
//!   period: as owner, as a revenue-split partner and as an overlay partner (overlay credit
//!   comes on top of the revenue shares, so it counts too). **Attainment** is credited revenue
//!   ÷ quota × 100, rounded to 2 decimals; without a quota (none, or zero) there is none.
//!   A ramp is the caller's business: the quota passed in is already ramped.
//! - **Band edges** are money: quota × `from_attainment` ÷ 100, rounded to cents, so every
//!   portion of a credit is a whole number of cents. An attainment level counts as reached when
//!   credited revenue is at or above its edge (exact money comparison; the attainment shown is
//!   rounded for display only).
//! - **COMMISSION**: the credits, in order of (closed on, deal ID), fill the bands
//!   cumulatively. Revenue below the first tier's `from_attainment` (when that is above 0) is
//!   paid at `base_rate` (tier label `base`); tier *N* (1-based) is labelled
//!   `tier N (from X %)` and runs from its edge up to the next tier's edge. A credit that
//!   straddles edges becomes one line per band it touches, each with its portion as
//!   `credited_base`, the attainment at the end of that portion, and the band's label and rate.
//!   `MARGINAL`: each portion is paid at its band's rate. `RETROACTIVE`: when the tier finally
//!   reached (the highest whose edge is at or below credited revenue) is `RETROACTIVE`, every
//!   credit is paid at that tier's rate, one line per credit. Without a quota every credit is
//!   paid at `base_rate` with no attainment. A line pays round_cents(portion × rate ÷ 100).
//!   A tier above the base rate is an accelerator, below it a decelerator; the explanation
//!   says so.
//! - **Cap**: when the commission lines add up to more than `cap`, a negative CAP line brings
//!   commission down to exactly the cap.
//! - **BONUS**: every threshold reached pays its amount once. Without a quota, none is reached.
//! - **SPIFF**: target `DEAL` pays once per credit as owner or revenue partner (not overlay)
//!   closed inside `[starts_on, ends_on]` (both days count) whose deal amount is at least
//!   `min_deal_amount` (when set); target `ACTIVITY` pays amount × quantity per activity of
//!   `activity_type_id` inside the window (an activity without a positive quantity earns
//!   nothing).
//! - **TEAM_BONUS**: when the team's quota attainment (`QUOTA`) or mystery-check average
//!   (`MYSTERY_AVERAGE`) is at or above the threshold and the team has active members, the
//!   member gets round_cents(pool ÷ active members). Otherwise there is no line.
//! - **Clawbacks**: every line originally paid on a reversed deal comes back negated, at its
//!   original rate, tier and base.
//! - **Adjustments**: a resolved dispute adds its amount (either sign); the explanation is the
//!   resolution.
//! - **DRAW** (last): let E be the sum of all lines above. `NON_RECOVERABLE`: when E is below
//!   the draw amount, a DRAW line tops it up to the amount; nothing is recovered later.
//!   `RECOVERABLE`: when E is below the amount, a DRAW line tops it up and the outstanding
//!   balance grows by that much; otherwise, when a balance is outstanding, a DRAW_RECOVERY line
//!   takes back min(balance, E − amount) and the balance shrinks by it. Without a recoverable
//!   draw the balance is carried unchanged.

/// Like `stored_enum!`, also (de)serialized in plan JSON by its stored form.
macro_rules! serde_stored_enum {
    ($($t:tt)*) => {
        stored_enum!(#[derive(Serialize, Deserialize)] #[serde(rename_all = "SCREAMING_SNAKE_CASE")] $($t)*);
    };
}

mod bonuses;
mod commission;
mod components;
mod facts;
mod kinds;
mod settlement;
mod statement;

use self::bonuses::*;
use self::commission::*;
pub use self::components::*;
pub use self::facts::*;
pub use self::kinds::*;
use self::settlement::*;
pub use self::statement::*;
