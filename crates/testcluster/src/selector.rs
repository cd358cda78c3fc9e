//! Label and field selectors as the apiserver parses them (`labelSelector=a=b,c!=d,e in (f,g),!h`,
//! `fieldSelector=metadata.name=x`), with its error messages for what it refuses.

use std::collections::BTreeMap;

/// One requirement of a label selector.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

fn valid_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
    });
    name_ok && prefix_ok
}

fn valid_value(value: &str) -> bool {
    value.is_empty()
        || (value.len() <= 63
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && value.as_bytes()[0].is_ascii_alphanumeric()
            && value.as_bytes()[value.len() - 1].is_ascii_alphanumeric())
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_set(key: &str, rest: &str) -> Result<Vec<String>, String> {
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("unable to parse requirement: found {rest:?}, expected: '(' values ')' for key {key:?}"))?;
    let values: Vec<String> = inner.split(',').map(|v| v.trim().to_string()).collect();
    if let Some(bad) = values.iter().find(|v| !valid_value(v)) {
        return Err(format!("unable to parse requirement: invalid label value: {bad:?}"));
    }
    Ok(values)
}

impl LabelSelector {
    /// Parses the query value of `labelSelector`; the error text is what a 400 response says.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        if text.trim().is_empty() {
            return Ok(LabelSelector { requirements });
        }
        for raw in split_top_level(text) {
            let part = raw.trim();
            let requirement = if let Some(key) = part.strip_prefix('!') {
                Requirement::DoesNotExist(key.trim().to_string())
            } else if let Some((key, value)) = part.split_once("!=") {
                Requirement::NotEquals(key.trim().to_string(), value.trim().to_string())
            } else if let Some((key, value)) =
                part.split_once("==").or_else(|| part.split_once('='))
            {
                Requirement::Equals(key.trim().to_string(), value.trim().to_string())
            } else if let Some((key, rest)) = part.split_once(" notin ") {
                Requirement::NotIn(key.trim().to_string(), parse_set(key, rest)?)
            } else if let Some((key, rest)) = part.split_once(" in ") {
                Requirement::In(key.trim().to_string(), parse_set(key, rest)?)
            } else {
                Requirement::Exists(part.to_string())
            };
            let (key, value) = match &requirement {
                Requirement::Equals(k, v) | Requirement::NotEquals(k, v) => (k, Some(v)),
                Requirement::In(k, _)
                | Requirement::NotIn(k, _)
                | Requirement::Exists(k)
                | Requirement::DoesNotExist(k) => (k, None),
            };
            if !valid_key(key) {
                return Err(format!(
                    "unable to parse requirement: invalid label key {key:?} in {part:?}"
                ));
            }
            if let Some(v) = value.filter(|v| !valid_value(v)) {
                return Err(format!("unable to parse requirement: invalid label value: {v:?}"));
            }
            requirements.push(requirement);
        }
        Ok(LabelSelector { requirements })
    }

    /// Whether an object with these labels is selected.
    pub fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        let get = |key: &str| labels.and_then(|l| l.get(key));
        self.requirements.iter().all(|r| match r {
            Requirement::Equals(k, v) => get(k) == Some(v),
            Requirement::NotEquals(k, v) => get(k) != Some(v),
            Requirement::In(k, values) => get(k).is_some_and(|x| values.contains(x)),
            Requirement::NotIn(k, values) => get(k).is_none_or(|x| !values.contains(x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::DoesNotExist(k) => get(k).is_none(),
        })
    }
}

/// A field selector restricted to the fields every resource supports: `metadata.name` and
/// `metadata.namespace` (with `=`, `==` or `!=`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<(String, bool, String)>,
}

impl FieldSelector {
    /// Parses the query value of `fieldSelector`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut terms = Vec::new();
        if text.trim().is_empty() {
            return Ok(FieldSelector { terms });
        }
        for part in text.split(',') {
            let (field, equal, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (f, true, v)
            } else {
                return Err(format!("invalid selector: '{part}'; can't understand '{part}'"));
            };
            let field = field.trim();
            if field != "metadata.name" && field != "metadata.namespace" {
                return Err(format!("field label not supported: {field}"));
            }
            terms.push((field.to_string(), equal, value.trim().to_string()));
        }
        Ok(FieldSelector { terms })
    }

    /// The one name this selector allows (`metadata.name=X`), if it has such a term: a watch
    /// can then listen to that object's events alone.
    pub fn single_name(&self) -> Option<&str> {
        self.terms
            .iter()
            .find(|(field, equal, _)| field == "metadata.name" && *equal)
            .map(|(_, _, value)| value.as_str())
    }

    /// Whether an object with this name and namespace is selected.
    pub fn matches(&self, namespace: &str, name: &str) -> bool {
        self.terms.iter().all(|(field, equal, value)| {
            let actual = if field == "metadata.name" { name } else { namespace };
            (actual == value) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_name_term_is_the_single_name() {
        assert_eq!(FieldSelector::parse("metadata.name=p1").unwrap().single_name(), Some("p1"));
        assert_eq!(
            FieldSelector::parse("metadata.namespace=ns,metadata.name==p2").unwrap().single_name(),
            Some("p2")
        );
        assert_eq!(FieldSelector::parse("metadata.name!=p1").unwrap().single_name(), None);
        assert_eq!(FieldSelector::parse("").unwrap().single_name(), None);
    }

    #[test]
    fn label_selectors_match_like_the_apiserver() {
        let sandbox = labels(&[("tale.sandbox", "1"), ("tale.sandbox/role", "runtime")]);
        let other = labels(&[("app", "web")]);
        let s = LabelSelector::parse("tale.sandbox=1").unwrap();
        assert!(s.matches(Some(&sandbox)) && !s.matches(Some(&other)) && !s.matches(None));
        let s = LabelSelector::parse("tale.sandbox/role in (runtime, exec-spec),!app").unwrap();
        assert!(s.matches(Some(&sandbox)) && !s.matches(Some(&other)));
        let s = LabelSelector::parse("app notin (web),tale.sandbox!=2").unwrap();
        assert!(s.matches(Some(&sandbox)) && !s.matches(Some(&other)));
        assert!(LabelSelector::parse("tale.sandbox").unwrap().matches(Some(&sandbox)));
        assert!(LabelSelector::parse("").unwrap().matches(None));
    }

    #[test]
    fn malformed_selectors_are_errors() {
        for bad in ["a in b", "=x", "a=b c", "a in (b", "-a=b"] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad:?}");
        }
        assert!(FieldSelector::parse("status.phase=Running").is_err());
        assert!(FieldSelector::parse("nonsense").is_err());
        let f = FieldSelector::parse("metadata.name=x,metadata.namespace!=y").unwrap();
        assert!(f.matches("z", "x") && !f.matches("y", "x") && !f.matches("z", "w"));
    }
}
