//! Bearer-token authentication and authorization for the inventory routes.
//!
//! Upstream (`pkg/controller/provider/web/base/auth.go`) reads `Authorization: Bearer
//! <token>`, runs a TokenReview, then a SubjectAccessReview on
//! `forklift.konveyor.io/providers`: verb `get` on the named provider for a
//! per-provider path, verb `list` in `?namespace` otherwise. A missing or unknown token
//! gets 401, a refused review 403.
//!
//! Ferry splits that into [`Authenticator::authenticate`] (who is calling: a
//! TokenReview, or a static token) and [`Authenticator::authorize`] (may they read this
//! provider: a SubjectAccessReview, or "yes"), so a Kubernetes-backed implementation
//! plugs in later without touching the routes. Unlike upstream, authentication comes
//! first, before the provider is looked up, so an anonymous caller cannot learn which
//! provider UIDs exist. Tokens are never logged.

use std::future::Future;
use std::pin::Pin;

/// A boxed authentication future (the trait is used as `dyn`).
pub type AuthFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, AuthError>> + Send + 'a>>;

/// Who the caller is, as the authenticator established it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The user name (`system:serviceaccount:ns:name` for service accounts).
    pub user: String,
    /// The user's groups.
    pub groups: Vec<String>,
}

/// What the caller wants to read: a SubjectAccessReview on
/// `forklift.konveyor.io/providers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access<'a> {
    /// `get` for one provider, `list` for a type's providers.
    pub verb: &'static str,
    /// The provider's namespace, or the `?namespace` of a list (may be empty: all).
    pub namespace: &'a str,
    /// The provider's name (empty for a list).
    pub name: &'a str,
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No token, or a token the authenticator does not accept (401).
    #[error("a valid bearer token is required")]
    Unauthenticated,
    /// The caller may not read this (403).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The authenticator could not decide (e.g. the API server is unreachable) (500).
    #[error("authentication is unavailable: {0}")]
    Unavailable(String),
}

/// Decides who may read the inventory.
pub trait Authenticator: Send + Sync {
    /// Establishes the caller's identity from the bearer token, if any.
    fn authenticate<'a>(&'a self, token: Option<&'a str>) -> AuthFuture<'a, Identity>;

    /// Decides whether the caller may read what `access` describes.
    fn authorize<'a>(&'a self, identity: &'a Identity, access: Access<'a>) -> AuthFuture<'a, ()>;
}

/// One shared secret token; whoever presents it may read everything. For the sandbox
/// and single-tenant deployments; a TokenReview-backed authenticator replaces it in a
/// cluster.
pub struct StaticToken {
    token: String,
}

impl StaticToken {
    /// Accepts exactly `token`.
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
        }
    }
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

impl Authenticator for StaticToken {
    fn authenticate<'a>(&'a self, token: Option<&'a str>) -> AuthFuture<'a, Identity> {
        let accepted = token.is_some_and(|token| constant_time_eq(token, &self.token));
        Box::pin(async move {
            if accepted {
                Ok(Identity {
                    user: "ferry:static-token".into(),
                    groups: Vec::new(),
                })
            } else {
                Err(AuthError::Unauthenticated)
            }
        })
    }

    fn authorize<'a>(&'a self, _: &'a Identity, _: Access<'a>) -> AuthFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}

/// No authentication at all (upstream `AUTH_REQUIRED=false`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Disabled;

impl Authenticator for Disabled {
    fn authenticate<'a>(&'a self, _: Option<&'a str>) -> AuthFuture<'a, Identity> {
        Box::pin(async { Ok(Identity::default()) })
    }

    fn authorize<'a>(&'a self, _: &'a Identity, _: Access<'a>) -> AuthFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}

/// Upstream's token extraction: the header split on whitespace must be exactly
/// `Bearer <token>`.
pub fn bearer_token(header: Option<&str>) -> Option<&str> {
    let mut fields = header?.split_whitespace();
    match (fields.next(), fields.next(), fields.next()) {
        (Some("Bearer"), Some(token), None) => Some(token),
        _ => None,
    }
}

/// Compares without an early exit, so timing does not reveal a prefix of the token.
fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut difference = a.len() ^ b.len();
    for (index, byte) in a.iter().enumerate() {
        difference |= usize::from(byte ^ b.get(index).copied().unwrap_or(0));
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_parsed_as_upstream() {
        assert_eq!(bearer_token(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(Some("  Bearer   abc ")), Some("abc"));
        assert_eq!(bearer_token(Some("bearer abc")), None);
        assert_eq!(bearer_token(Some("Bearer")), None);
        assert_eq!(bearer_token(Some("Bearer a b")), None);
        assert_eq!(bearer_token(None), None);
    }

    #[tokio::test]
    async fn static_token() {
        let auth = StaticToken::new("s3cret");
        assert!(auth.authenticate(Some("s3cret")).await.is_ok());
        for wrong in [Some("s3cre"), Some("s3cret!"), Some(""), None] {
            assert_eq!(
                auth.authenticate(wrong).await,
                Err(AuthError::Unauthenticated)
            );
        }
        assert_eq!(format!("{auth:?}"), "StaticToken(<redacted>)");
    }
}
