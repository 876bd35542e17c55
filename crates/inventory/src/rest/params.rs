//! Query parameters shared by every inventory route (`pkg/lib/inventory/web` `Paged`,
//! `pkg/controller/provider/web/base` `setDetail`).

/// The level `detail=all` means (upstream `model.MaxDetail`).
pub const MAX_DETAIL: i64 = 9;

/// A page of a collection: `limit` (default unlimited) items from `offset` (default 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// At most this many items.
    pub limit: usize,
    /// Skip this many first.
    pub offset: usize,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: usize::MAX,
            offset: 0,
        }
    }
}

impl Page {
    /// The page's items out of an iterator.
    pub fn apply<I: IntoIterator>(&self, items: I) -> impl Iterator<Item = I::Item> {
        items.into_iter().skip(self.offset).take(self.limit)
    }
}

/// The parameters of a list request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// `detail`: 0 (default) is the bare resource, 1 adds a summary, ≥ 2 is everything;
    /// `all` is [`MAX_DETAIL`]. Negative values are accepted, as upstream.
    pub detail: i64,
    /// `name`: only resources with this name (providers compare only its last `/`
    /// segment where upstream does).
    pub name: Option<String>,
    /// `namespace` (providers and OpenShift resources).
    pub namespace: Option<String>,
    /// `limit` and `offset`.
    pub page: Page,
}

/// A parameter that is not acceptable (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query parameter '{name}={value}' is invalid: {expected}")]
pub struct ParamError {
    /// The parameter.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// What was expected.
    pub expected: &'static str,
}

impl ListQuery {
    /// Parses the decoded query pairs; as Go's `URL.Query().Get`, the first occurrence
    /// of a parameter counts.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, ParamError> {
        let get = |key: &str| {
            pairs
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value.as_str())
        };
        let mut query = Self::default();
        if let Some(value) = get("limit").filter(|v| !v.is_empty()) {
            query.page.limit = non_negative("limit", value)?;
        }
        if let Some(value) = get("offset").filter(|v| !v.is_empty()) {
            query.page.offset = non_negative("offset", value)?;
        }
        if let Some(value) = get("detail").filter(|v| !v.is_empty()) {
            query.detail = if value.eq_ignore_ascii_case("all") {
                MAX_DETAIL
            } else {
                value.parse().map_err(|_| ParamError {
                    name: "detail",
                    value: value.to_owned(),
                    expected: "an integer or 'all'",
                })?
            };
        }
        query.name = get("name").filter(|v| !v.is_empty()).map(str::to_owned);
        query.namespace = get("namespace")
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        Ok(query)
    }
}

fn non_negative(name: &'static str, value: &str) -> Result<usize, ParamError> {
    let error = || ParamError {
        name,
        value: value.to_owned(),
        expected: "a non-negative integer",
    };
    let number: i64 = value.parse().map_err(|_| error())?;
    usize::try_from(number).map_err(|_| error())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &[(&str, &str)]) -> Result<ListQuery, ParamError> {
        let pairs: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ListQuery::parse(&pairs)
    }

    #[test]
    fn defaults() {
        let query = parse(&[]).unwrap();
        assert_eq!(query.detail, 0);
        assert_eq!(query.page, Page::default());
        assert_eq!(query.name, None);
    }

    #[test]
    fn detail_levels() {
        assert_eq!(parse(&[("detail", "all")]).unwrap().detail, MAX_DETAIL);
        assert_eq!(parse(&[("detail", "ALL")]).unwrap().detail, MAX_DETAIL);
        assert_eq!(parse(&[("detail", "1")]).unwrap().detail, 1);
        assert_eq!(parse(&[("detail", "-1")]).unwrap().detail, -1);
        assert_eq!(parse(&[("detail", "x")]).unwrap_err().name, "detail");
    }

    #[test]
    fn paging_rejects_negative_and_non_integers() {
        let query = parse(&[("limit", "2"), ("offset", "1"), ("limit", "9")]).unwrap();
        assert_eq!(
            query.page,
            Page {
                limit: 2,
                offset: 1
            }
        );
        assert_eq!(
            Page {
                limit: 2,
                offset: 1
            }
            .apply(0..10)
            .collect::<Vec<_>>(),
            [1, 2]
        );
        for (name, value) in [
            ("limit", "-1"),
            ("offset", "-3"),
            ("limit", "1.5"),
            ("offset", "a"),
        ] {
            let error = parse(&[(name, value)]).unwrap_err();
            assert_eq!(error.name, name);
        }
    }
}
