//! `ExecuteRequest` and its parts (types.ts, spec §3.1).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::lenient;
use crate::error::RequestError;
use crate::js_json::{self, JsValue};

/// `Language` (wire.ts). The backend accepts only python, node and polyglot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// `python`.
    Python,
    /// `node`.
    Node,
    /// `bash` (rejected before the Kubernetes backend).
    Bash,
    /// `polyglot`.
    Polyglot,
}

impl Language {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Node => "node",
            Language::Bash => "bash",
            Language::Polyglot => "polyglot",
        }
    }

    /// Whether `execute` (§1.2 step 1) and `buildSandboxPod` accept it.
    pub fn is_backend_supported(self) -> bool {
        !matches!(self, Language::Bash)
    }
}

/// One workspace file of `ExecuteRequest.files` (`{ path, url }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceFile {
    /// Path below `<WS>/code/`.
    pub path: String,
    /// Presigned download URL.
    pub url: String,
}

/// One `{ name, url }` download (`priorOutputDownloads`, `userUploadDownloads`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedDownload {
    /// File name below the target directory.
    pub name: String,
    /// Presigned download URL.
    pub url: String,
}

/// One pre-allocated upload slot (`outputUploadSlots[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSlot {
    /// Presigned upload URL.
    pub url: String,
}

/// `packagesByLang` (polyglot install buckets).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackagesByLang {
    /// Python packages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<Vec<String>>,
    /// Node packages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<Vec<String>>,
}

/// `ExecuteRequest` (types.ts, spec §3.1).
///
/// The typed fields are this crate's view of the request. The TypeScript
/// writes the request object itself into the Secret's `spec.json`, so
/// [`Self::from_json`] also keeps the whole parsed body in
/// [`Self::received`] (nested unknown keys and key order included) and
/// [`Self::verbatim`] hands it back. Top-level keys the TypeScript type does
/// not know are also in [`Self::extra`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteRequest {
    /// Execution id (`ID_ALPHABET_RE`).
    pub execution_id: String,
    /// Organization id (`ORG_ID_ALPHABET_RE`).
    pub organization_id: String,
    /// Runtime language; an unknown string is a deserialization error.
    pub language: Language,
    /// Workspace files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<WorkspaceFile>>,
    /// Single-script entry path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_path: Option<String>,
    /// Multi-step mode paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<String>>,
    /// Prior outputs to stage into `<WS>/output/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_output_downloads: Option<Vec<NamedDownload>>,
    /// User uploads to stage into `<WS>/uploads/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_upload_downloads: Option<Vec<NamedDownload>>,
    /// Single-runtime install list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<Vec<String>>,
    /// Polyglot install buckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages_by_lang: Option<PackagesByLang>,
    /// Requested timeout: any JSON number (`30000`, `3e4`, `1500.5`, `-1`,
    /// `1e400` = infinity), clamped by
    /// [`SpawnerConfig::clamp_timeout_ms`](crate::config::SpawnerConfig::clamp_timeout_ms);
    /// `null` reads as absent. Other types are rejected.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "lenient::opt_js_number"
    )]
    pub timeout_ms: Option<f64>,
    /// Pre-allocated presigned upload URLs.
    pub output_upload_slots: Vec<UploadSlot>,
    /// EP1: request more upload slots.
    pub output_url_endpoint: String,
    /// EP2: report each upload.
    pub report_uploaded_endpoint: String,
    /// Step-scoped env for the runner (/user era), in object order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<IndexMap<String, String>>,
    /// Keys not part of the TypeScript type, passed through untouched.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// The body as [`Self::from_json`] parsed it (`None` for a request built
    /// in code or read with plain serde). Editing the typed fields does not
    /// change it; [`Self::verbatim`] notices and falls back to the typed view.
    #[serde(skip)]
    pub received: Option<JsValue>,
}

impl ExecuteRequest {
    /// Parse a request body like the service's `JSON.parse` does
    /// ([`js_json::parse`]) and read the typed fields from it, keeping the
    /// parsed body in [`Self::received`]. A syntax error or a field of the
    /// wrong type is [`RequestError::Malformed`].
    pub fn from_json(body: &str) -> Result<Self, RequestError> {
        let value = js_json::parse(body).map_err(|e| RequestError::Malformed(e.to_string()))?;
        Self::from_js_value(value)
    }

    /// The typed view of an already parsed request object; keeps `value` in
    /// [`Self::received`].
    pub fn from_js_value(value: JsValue) -> Result<Self, RequestError> {
        let mut req: ExecuteRequest =
            js_json::from_value(&value).map_err(|e| RequestError::Malformed(e.to_string()))?;
        req.received = Some(value);
        Ok(req)
    }

    /// The request object as the TypeScript would serialize it into
    /// `spec.json`: [`Self::received`] when it still reads as these typed
    /// fields, otherwise the typed fields (in spec §3.1 order, then
    /// [`Self::extra`]).
    pub fn verbatim(&self) -> JsValue {
        if let Some(received) = &self.received {
            let reread = js_json::from_value::<ExecuteRequest>(received);
            if reread.is_ok_and(|r| self.same_fields(&r)) {
                return received.clone();
            }
        }
        let typed = serde_json::to_string(self)
            .expect("ExecuteRequest holds only strings, numbers, lists and maps");
        js_json::parse(&typed).expect("serde_json writes valid JSON")
    }

    fn same_fields(&self, other: &ExecuteRequest) -> bool {
        let strip = |r: &ExecuteRequest| ExecuteRequest { received: None, ..r.clone() };
        strip(self) == strip(other)
    }

    /// The entry path handed to the runtime (§1.2 step 3): in steps mode the
    /// generated wrapper `<TALE_DIR>/runner.py` (python, polyglot) or
    /// `<TALE_DIR>/runner.js` (node), otherwise `entryPath` verbatim.
    pub fn runner_entry_path(
        &self,
        variant: crate::config::ContractVariant,
    ) -> Result<String, RequestError> {
        if self.steps.is_some() {
            let wrapper = match self.language {
                Language::Node => "runner.js",
                Language::Python | Language::Polyglot => "runner.py",
                Language::Bash => return Err(RequestError::InvalidLanguage),
            };
            return Ok(format!("{}/{wrapper}", variant.tale_dir()));
        }
        self.entry_path.clone().ok_or(RequestError::MissingEntry)
    }

    /// The dispatcher's and backend's acceptance checks (`executeRequest` in
    /// spawn.ts + §1.2 step 1), in their order: id, organization, language.
    pub fn check_backend_acceptance(&self) -> Result<(), RequestError> {
        if !crate::names::is_safe_execution_id(&self.execution_id) {
            return Err(RequestError::InvalidExecutionId);
        }
        if !crate::names::is_safe_organization_id(&self.organization_id) {
            return Err(RequestError::InvalidOrganizationId);
        }
        if !self.language.is_backend_supported() {
            return Err(RequestError::InvalidLanguage);
        }
        Ok(())
    }
}
