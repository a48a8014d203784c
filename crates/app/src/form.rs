//! A posted form's fields, repeated names kept (the checkboxes of a list).

use axum::extract::{FromRequest, RawForm, Request};
use axum::response::{IntoResponse, Response};
use zeroize::Zeroizing;

/// The fields of an `application/x-www-form-urlencoded` body, in order.
pub(crate) struct Fields(Vec<(String, Zeroizing<String>)>);

impl Fields {
    /// The first value of `name`, or `""`.
    pub(crate) fn one(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.to_string())
            .collect()
    }

    /// Whether the user confirmed (the dialog's はい).
    pub(crate) fn confirmed(&self) -> bool {
        self.one("confirmed") == "yes"
    }

    /// The fields of `body`.
    pub(crate) fn parse(body: &[u8]) -> Fields {
        Fields(
            form_urlencoded::parse(body)
                .map(|(n, v)| (n.into_owned(), Zeroizing::new(v.into_owned())))
                .collect(),
        )
    }
}

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Fields, Response> {
        let RawForm(body) = RawForm::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Fields::parse(&body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_are_all_kept() {
        let fields = Fields::parse(b"id=a&id=b&to=%E7%B5%A6%E4%BB%98%E8%AA%B2&confirmed=yes");
        assert_eq!(fields.all("id"), ["a", "b"]);
        assert_eq!(fields.one("to"), "給付課");
        assert_eq!(fields.one("missing"), "");
        assert!(fields.confirmed());
    }
}
