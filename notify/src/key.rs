//! Notify API keys: `{key_name}-{service_id}-{secret_key}`, where the last two parts are UUIDs.

use crate::error::KeyError;

/// Length of a hyphenated UUID.
const UUID_LEN: usize = 36;

/// A parsed API key. Only the secret is secret; the service id travels in every token.
#[derive(Clone)]
pub(crate) struct ApiKey {
    pub(crate) name: String,
    pub(crate) service_id: String,
    pub(crate) secret: String,
}

impl ApiKey {
    /// Parses a key the way Notify's own clients do, from the end: the key name may itself contain hyphens. Surrounding
    /// whitespace (a trailing newline in a secrets file) is ignored.
    pub(crate) fn parse(key: &str) -> Result<ApiKey, KeyError> {
        let key = key.trim();
        // name, '-', service id, '-', secret; the name must not be empty.
        if key.len() < 1 + 1 + UUID_LEN + 1 + UUID_LEN {
            return Err(KeyError::TooShort);
        }
        let secret_start = key.len() - UUID_LEN;
        let service_start = secret_start - 1 - UUID_LEN;
        let separators = (
            key.get(service_start - 1..service_start),
            key.get(secret_start - 1..secret_start),
        );
        if separators != (Some("-"), Some("-")) {
            return Err(KeyError::Malformed);
        }
        let service_id = key
            .get(service_start..secret_start - 1)
            .filter(|s| is_uuid(s))
            .ok_or(KeyError::ServiceId)?;
        let secret = key
            .get(secret_start..)
            .filter(|s| is_uuid(s))
            .ok_or(KeyError::SecretKey)?;
        Ok(ApiKey {
            name: key[..service_start - 1].to_string(),
            service_id: service_id.to_string(),
            secret: secret.to_string(),
        })
    }
}

/// A hyphenated UUID of any version, as Notify issues them.
pub(crate) fn is_uuid(s: &str) -> bool {
    s.len() == UUID_LEN && uuid::Uuid::try_parse(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICE: &str = "26785a09-ab16-4eb0-8407-a37497a57506";
    const SECRET: &str = "3d844edf-8d35-48ac-975b-e847b4f122b0";

    #[test]
    fn parses_from_the_end_so_names_may_contain_hyphens() {
        let key = ApiKey::parse(&format!("my-test-key-{SERVICE}-{SECRET}\n")).unwrap();
        assert_eq!(key.name, "my-test-key");
        assert_eq!(key.service_id, SERVICE);
        assert_eq!(key.secret, SECRET);
    }

    #[test]
    fn rejects_a_key_without_a_name_or_separators() {
        assert_eq!(
            ApiKey::parse(&format!("{SERVICE}-{SECRET}")).err(),
            Some(KeyError::TooShort)
        );
        assert_eq!(
            ApiKey::parse(&format!("name-{SERVICE}x{SECRET}")).err(),
            Some(KeyError::Malformed)
        );
        assert_eq!(
            ApiKey::parse(&format!("namex{SERVICE}-{SECRET}")).err(),
            Some(KeyError::Malformed)
        );
    }

    #[test]
    fn non_ascii_does_not_panic() {
        let key = format!("name-{}é-{SECRET}", &SERVICE[..34]);
        assert!(ApiKey::parse(&key).is_err());
    }
}
