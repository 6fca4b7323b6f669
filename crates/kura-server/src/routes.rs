//! Routes declared together with the access they need (IAM-2). A route can only be added to a
//! [`Routes`] table with an [`Access`], and the API and the consoles build their routers from
//! their tables alone, so the permission-matrix tests can enumerate every route and check that
//! exactly the principals without the declared permission are refused.
//!
//! The declaration does not replace the check: services still call `TenantPrincipal::require`
//! (the only way to reach tenant data), and the tests prove that the two agree.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, on};
use kura_domain::Permission;

/// What a principal needs before a route does anything for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone: sign-in pages and forms, the API document, health checks, static assets.
    Public,
    /// Any signed-in member of a tenant (a user or an API key).
    Tenant,
    /// A signed-in member of a tenant holding this permission.
    Permission(Permission),
    /// A signed-in member of a tenant holding every one of these permissions (the whole
    /// tenant's export, which holds records, people and the log).
    AllOf(&'static [Permission]),
    /// A signed-in operator.
    Operator,
}

/// The HTTP methods Kura routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Verb {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
    const fn filter(self) -> MethodFilter {
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
            Self::Put => MethodFilter::PUT,
            Self::Patch => MethodFilter::PATCH,
            Self::Delete => MethodFilter::DELETE,
        }
    }
}

/// One declared route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub verb: Verb,
    /// The path as routed, with `{param}` placeholders.
    pub path: &'static str,
    pub access: Access,
}

/// A router and the list of what it routes, built together.
#[derive(Debug)]
pub struct Routes<S> {
    router: Router<S>,
    list: Vec<Route>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Self { router: Router::new(), list: Vec::new() }
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    /// Routes `verb path` to `handler`, which needs `access`.
    pub fn add<H, T>(mut self, verb: Verb, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.router = self.router.route(path, on(verb.filter(), handler));
        self.list.push(Route { verb, path, access });
        self
    }

    /// Both tables' routes under one router.
    pub fn merge(mut self, other: Self) -> Self {
        self.router = self.router.merge(other.router);
        self.list.extend(other.list);
        self
    }

    pub fn list(&self) -> &[Route] {
        &self.list
    }

    pub fn into_router(self) -> Router<S> {
        self.router
    }
}
