//! Database connection and write transactions, the same code on SQLite and PostgreSQL.

pub mod tenant;
pub mod unit;

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::Config;

/// How long a SQLite writer waits for the lock before giving up. Writers begin IMMEDIATE,
/// so they queue here instead of failing later with SQLITE_BUSY_SNAPSHOT.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Prepared statements each PostgreSQL connection keeps.
const STATEMENT_CACHE_CAPACITY: usize = 1024;

/// Opens the pool. SQLite gets WAL (readers never block the writer), a busy timeout,
/// `synchronous=NORMAL` (durable in WAL mode at commit boundaries) and foreign keys.
pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(config.database_url.clone());
    options
        .max_connections(config.database_max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_millis(config.database_acquire_timeout_ms))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
        })
        // Batched writes send multi-row statements whose text varies with the batch size; the
        // default 100 prepared statements per connection would keep evicting and re-preparing
        // them (a parse and plan on the server each time).
        .map_sqlx_postgres_opts(|opts| opts.statement_cache_capacity(STATEMENT_CACHE_CAPACITY));
    Database::connect(options).await
}

/// Begins a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`), so a read-then-write transaction cannot fail at its first write.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await
    } else {
        db.begin().await
    }
}

/// A tenant's check-then-write section that a row `version` cannot guard, because the check
/// reads other rows than the write changes: a tree move checks the whole tree for a cycle; a
/// payout run numbers statement versions and reads which statements are approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The team tree (`moveTeam`).
    TeamTree = 1,
    /// The territory tree and its owner spans (territory and assignment mutations).
    Territories = 2,
    /// Payout statements (runs, approval, payment, disputes), plan assignments, and deal
    /// reversals that claw back approved pay.
    Payouts = 3,
}

/// Serializes one tenant's `section` until the transaction ends. On SQLite every write
/// transaction already holds the database's single write lock from its start
/// ([`begin_write`]); on PostgreSQL, whose READ COMMITTED writers run side by side, this takes
/// a transaction-scoped advisory lock on (tenant, section), so two opposite tree moves or two
/// payout runs cannot both pass their checks against the same old state.
pub async fn serialize(db: &impl ConnectionTrait, org: crate::core::ids::OrgId, section: Section) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    // Two 32-bit keys: the tenant folded to 32 bits (a collision only serializes two tenants'
    // sections together) and the section.
    let bits = org.0.as_u128();
    let tenant = (bits ^ (bits >> 32) ^ (bits >> 64) ^ (bits >> 96)) as u32 as i32;
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1, $2)",
        [tenant.into(), (section as i32).into()],
    ))
    .await?;
    Ok(())
}

/// `Set` when a patch carries a value, `NotSet` (leave the column alone) otherwise.
pub fn set_if<T: Into<sea_orm::Value>>(value: Option<T>) -> sea_orm::ActiveValue<T> {
    match value {
        Some(v) => sea_orm::ActiveValue::Set(v),
        None => sea_orm::ActiveValue::NotSet,
    }
}

/// Whether the database answers a trivial query.
pub async fn ping(db: &impl ConnectionTrait) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

/// Connection-pool figures for `/metrics`: (open connections, idle connections).
pub fn pool_stats(db: &DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    }
}
