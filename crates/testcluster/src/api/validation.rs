//! Name validation with the apiserver's messages: DNS-1123 subdomains (object names), labels
//! (namespaces, container names) and secret data keys.

const DNS1123_SUBDOMAIN_MESSAGE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL_MESSAGE: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

fn is_label(text: &str) -> bool {
    let bytes = text.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && alnum(bytes[0])
        && alnum(bytes[bytes.len() - 1])
        && bytes.iter().all(|&b| alnum(b) || b == b'-')
}

/// Why `name` is not a DNS-1123 subdomain (object names of pods, secrets, PVCs), if it is not.
pub(crate) fn dns1123_subdomain_error(name: &str) -> Option<String> {
    if name.len() > 253 {
        return Some(format!("Invalid value: {name:?}: must be no more than 253 characters"));
    }
    if name.split('.').all(is_label) {
        None
    } else {
        Some(format!("Invalid value: {name:?}: {DNS1123_SUBDOMAIN_MESSAGE}"))
    }
}

/// Why `name` is not a DNS-1123 label (namespaces, container names), if it is not.
pub(crate) fn dns1123_label_error(name: &str) -> Option<String> {
    if name.len() > 63 {
        return Some(format!("Invalid value: {name:?}: must be no more than 63 characters"));
    }
    if is_label(name) {
        None
    } else {
        Some(format!("Invalid value: {name:?}: {DNS1123_LABEL_MESSAGE}"))
    }
}

/// Why `key` is not a valid Secret data key, if it is not.
pub(crate) fn secret_key_error(key: &str) -> Option<String> {
    let ok = !key.is_empty()
        && key.len() <= 253
        && key != "."
        && key != ".."
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        None
    } else {
        Some(format!(
            "Invalid value: {key:?}: a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_and_labels() {
        assert!(dns1123_subdomain_error("tale-sbx-0123456789abcdef").is_none());
        assert!(dns1123_subdomain_error("a.b-c.d").is_none());
        for bad in ["", "Upper", "-lead", "trail-", "a..b", "under_score", &"a".repeat(254)] {
            assert!(dns1123_subdomain_error(bad).is_some(), "{bad:?}");
        }
        assert!(dns1123_label_error("runner").is_none());
        assert!(dns1123_label_error("a.b").is_some());
        assert!(dns1123_label_error(&"a".repeat(64)).is_some());
    }

    #[test]
    fn secret_keys() {
        assert!(secret_key_error("spec.json").is_none());
        assert!(secret_key_error("a/b").is_some());
        assert!(secret_key_error("..").is_some());
    }
}
