//! What every resolver reaches through its context: the services, the caller, the loader.

use async_graphql::Context;

use super::loaders;
use crate::core::error::{AppError, AppResult};
use crate::core::principal::{Auth, Principal};
use crate::state::AppState;

/// Shortcuts every resolver uses.
pub trait ContextExt {
    /// The application services.
    fn state(&self) -> AppResult<&AppState>;
    /// The authentication state.
    fn auth(&self) -> &Auth;
    /// The authenticated member, or UNAUTHENTICATED.
    fn principal(&self) -> AppResult<&Principal>;
    /// The per-request DataLoader of the principal's tenant.
    fn loader(&self) -> AppResult<&async_graphql::dataloader::DataLoader<loaders::OrgLoader>>;
}

impl ContextExt for Context<'_> {
    fn state(&self) -> AppResult<&AppState> {
        self.data::<AppState>().map_err(|_| AppError::Internal(anyhow::anyhow!("AppState missing from schema data")))
    }

    fn auth(&self) -> &Auth {
        self.data_opt::<Auth>().unwrap_or(&Auth::Anonymous)
    }

    fn principal(&self) -> AppResult<&Principal> {
        self.auth().principal()
    }

    fn loader(&self) -> AppResult<&async_graphql::dataloader::DataLoader<loaders::OrgLoader>> {
        self.principal()?;
        self.data::<async_graphql::dataloader::DataLoader<loaders::OrgLoader>>()
            .map_err(|_| AppError::Internal(anyhow::anyhow!("loader missing from request data")))
    }
}

/// The organization whose verified host name an HTTP request was sent to, if any (a front end
/// served on a client's own host signs in and shows its branding without a slug).
#[derive(Clone, Copy, Debug)]
pub struct RequestHost(pub Option<crate::core::ids::OrgId>);

/// The language an HTTP request's `Accept-Language` prefers, if it names a supported one (what
/// the anonymous are answered in).
#[derive(Clone, Copy, Debug)]
pub struct RequestLocale(pub Option<crate::core::locale::Locale>);

/// How a resolver finds the language of its request: installed in the schema's data by its
/// assembly, which knows where members and organizations keep theirs.
#[derive(Clone, Copy)]
pub struct LocaleOf(
    pub for<'a, 'b> fn(&'a Context<'b>) -> futures_util::future::BoxFuture<'a, crate::core::locale::Locale>,
);

/// The language of the request a resolver serves (see [`LocaleOf`]); without that hook, the
/// `Accept-Language` one, else English.
pub async fn request_locale(ctx: &Context<'_>) -> crate::core::locale::Locale {
    match ctx.data_opt::<LocaleOf>() {
        Some(hook) => (hook.0)(ctx).await,
        None => ctx.data_opt::<RequestLocale>().and_then(|l| l.0).unwrap_or_default(),
    }
}

/// Per-connection data of a WebSocket: the authentication state and the tenant's loader.
pub fn request_data(state: &AppState, auth: Auth) -> async_graphql::Data {
    let mut data = async_graphql::Data::default();
    if let Auth::Member(p) = &auth {
        data.insert(loaders::OrgLoader::data_loader(state.db.clone(), p.org));
    }
    data.insert(auth);
    data
}

/// Per-request data of an HTTP request: the same as [`request_data`].
pub fn with_request_data(request: async_graphql::Request, state: &AppState, auth: Auth) -> async_graphql::Request {
    let request = match &auth {
        Auth::Member(p) => request.data(loaders::OrgLoader::data_loader(state.db.clone(), p.org)),
        _ => request,
    };
    request.data(auth)
}
