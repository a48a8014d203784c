//! The society's offices (事業所一覧) as its desk shows them: number, name, and when the last
//! of their valid certificates expires, so that the society can warn an office before its
//! certificate runs out (60 days, spec §2.2).

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use kx_crypto::{RENEWAL_WINDOW_DAYS, days_left};
use kx_exchange::api::{OfficeEntry, path};

use super::session::{Session, certificate_from};

/// An office of the society.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Office {
    /// Its number (事業所番号).
    pub number: String,
    /// Its name.
    pub name: String,
    /// When its latest certificate that chains to our CA expires; none when it has none (not
    /// yet enrolled, or every certificate expired): nothing can be sent to it.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whole days until then (negative once expired).
    pub days_left: Option<i64>,
}

impl Office {
    /// Whether its certificate expires within the renewal window (fewer than 60 days left).
    pub fn expires_soon(&self) -> bool {
        self.days_left.is_some_and(|d| d < RENEWAL_WINDOW_DAYS)
    }
}

/// The society's offices, by number. Certificates that do not chain to our CA are ignored, as
/// [`super::send_to_office`] ignores them.
pub fn offices(session: &Session) -> crate::Result<Vec<Office>> {
    let entries: Vec<OfficeEntry> = session.api.get(path::OFFICES)?;
    let trust = session.society_trust()?;
    let now = SystemTime::now();
    let mut offices = Vec::with_capacity(entries.len());
    for entry in entries {
        let mut latest = None;
        for pem in &entry.certificates {
            let cert = certificate_from(pem, "office certificate")?;
            if trust.check_signer(&cert, now).is_ok() {
                let not_after = cert.tbs_certificate.validity.not_after.to_system_time();
                if latest.as_ref().is_none_or(|(at, _)| *at < not_after) {
                    latest = Some((not_after, cert));
                }
            }
        }
        offices.push(Office {
            number: entry.number,
            name: entry.name,
            expires_at: latest.as_ref().map(|(at, _)| DateTime::<Utc>::from(*at)),
            days_left: latest.as_ref().map(|(_, cert)| days_left(cert, now)),
        });
    }
    offices.sort_by(|a, b| a.number.cmp(&b.number));
    Ok(offices)
}

/// The offices whose number or name contains `query` (case-insensitive; all for an empty one).
pub fn search<'a>(offices: &'a [Office], query: &str) -> Vec<&'a Office> {
    let query = query.trim().to_lowercase();
    offices
        .iter()
        .filter(|o| {
            query.is_empty() || o.number.contains(&query) || o.name.to_lowercase().contains(&query)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn office(number: &str, name: &str, days_left: Option<i64>) -> Office {
        Office {
            number: number.into(),
            name: name.into(),
            expires_at: None,
            days_left,
        }
    }

    #[test]
    fn search_matches_number_or_name() {
        let all = [
            office("00001", "山田商事", Some(300)),
            office("00002", "Sato Works", None),
        ];
        assert_eq!(search(&all, "").len(), 2);
        assert_eq!(search(&all, "0002")[0].number, "00002");
        assert_eq!(search(&all, "山田")[0].number, "00001");
        assert_eq!(search(&all, "sato")[0].number, "00002");
        assert!(search(&all, "99").is_empty());
    }

    #[test]
    fn the_renewal_window_is_sixty_days() {
        assert!(office("1", "a", Some(59)).expires_soon());
        assert!(office("1", "a", Some(-3)).expires_soon());
        assert!(!office("1", "a", Some(60)).expires_soon());
        assert!(!office("1", "a", None).expires_soon());
    }
}
