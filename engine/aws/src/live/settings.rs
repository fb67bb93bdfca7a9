//! The AWS settings every client is built with, read as the AWS CLI reads them: flags beat
//! environment variables beat the selected profile of `~/.aws/config` / `~/.aws/credentials`.
//!
//! - the profile: `--profile`, else `AWS_PROFILE`; one that the files do not have is an error
//!   naming the profiles they do have, before any network call;
//! - the region: `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, else
//!   `us-east-1` (instance metadata is not asked: a laptop would wait for it). The SDK's endpoint
//!   resolver picks each service's endpoint from it, so `cn-*` and `us-gov-*` regions reach
//!   their partition's IAM and STS;
//! - retries of reads: `AWS_MAX_ATTEMPTS` / `max_attempts` (default 6) and `AWS_RETRY_MODE` /
//!   `retry_mode` (`standard`, `adaptive`; `legacy` is `standard`). Mutating IAM calls are sent
//!   with the SDK's retries off whatever is set (apply's dispatcher owns their retries);
//! - `AWS_CA_BUNDLE` / `ca_bundle`: a PEM file that replaces the trusted roots, as in the CLI;
//! - endpoints: `--endpoint-url` wins over everything; otherwise aws-config resolves
//!   `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the profile's `services` section and
//!   its `endpoint_url`, in that order. Every endpoint URL given is checked first
//!   ([`check_endpoint_url`]).
//!
//! The HTTP client is aws-smithy's rustls client (as the SDK's default, with the proxy
//! environment variables), wrapped so that a refused connection, a failed DNS lookup or a
//! refused server certificate is not retried: such a call fails at once instead of after every
//! attempt's backoff.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::ConnectorBuilder;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use std::borrow::Cow;
use std::path::PathBuf;

/// Attempts of a read when nothing sets `AWS_MAX_ATTEMPTS` / `max_attempts`.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 6;

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// A key of the selected profile.
    Profile {
        /// The profile.
        profile: String,
        /// The key.
        key: &'static str,
    },
    /// Nothing set it.
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "{flag}"),
            Source::Env(var) => write!(f, "{var}"),
            Source::Profile { profile, key } => write!(f, "profile `{profile}` {key}"),
            Source::Default => f.write_str("default"),
        }
    }
}

/// The retry mode of reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryMode {
    /// Exponential backoff with jitter and a retry quota.
    Standard,
    /// Standard, plus a client-side rate limiter that slows down on throttling.
    Adaptive,
}

/// A CA bundle to trust instead of the system's roots.
#[derive(Debug, Clone)]
pub struct CaBundle {
    /// The file.
    pub path: PathBuf,
    /// Who named it.
    pub from: Source,
    /// Its PEM text (certificates are public).
    pem: Vec<u8>,
}

/// The settings [`super::sdk_config`] builds the SDK configuration from.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The selected profile, when one is named (`--profile`, `AWS_PROFILE`).
    pub profile: Option<String>,
    /// The region.
    pub region: String,
    /// Where the region came from.
    pub region_from: Source,
    /// Attempts of one read, the first included.
    pub max_attempts: u32,
    /// Where `max_attempts` came from.
    pub max_attempts_from: Source,
    /// The retry mode of reads.
    pub retry_mode: RetryMode,
    /// Where the retry mode came from.
    pub retry_mode_from: Source,
    /// The CA bundle, when one is set.
    pub ca_bundle: Option<CaBundle>,
}

/// A setting that cannot be used; said before any network call.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The named profile is in neither file.
    #[error(
        "profile `{name}` is not in {config} or {credentials} (profiles: {}){}",
        if profiles.is_empty() { "none".to_string() } else { profiles.join(", ") },
        if *from == "AWS_PROFILE" { "; the environment variable AWS_PROFILE names it" } else { "" }
    )]
    NoSuchProfile {
        /// The profile asked for.
        name: String,
        /// `--profile` or `AWS_PROFILE`.
        from: &'static str,
        /// The config file, as shown.
        config: String,
        /// The credentials file, as shown.
        credentials: String,
        /// The profiles the files have.
        profiles: Vec<String>,
    },
    /// The config files do not parse.
    #[error("cannot read the AWS config files: {0}")]
    Files(String),
    /// A value that does not fit its setting.
    #[error("{from} `{value}`: {why}")]
    Invalid {
        /// Where it was set.
        from: Source,
        /// The value.
        value: String,
        /// What is wrong, and what would be right.
        why: String,
    },
    /// The CA bundle cannot be read or has no certificate.
    #[error("the CA bundle {path} ({from}): {message}")]
    CaBundle {
        /// The file.
        path: String,
        /// Who named it.
        from: Source,
        /// What went wrong.
        message: String,
    },
}

/// Checks an endpoint URL: `http://` or `https://`, a host, an optional port and path, no
/// query or fragment. The error says what to change (`example.com:5000`: add `http://`).
pub fn check_endpoint_url(text: &str) -> Result<String, String> {
    let t = text.trim();
    let rest = match t.split_once("://") {
        Some((scheme, rest)) => {
            let scheme = scheme.to_ascii_lowercase();
            if scheme != "http" && scheme != "https" {
                return Err(format!(
                    "`{t}` has the scheme `{scheme}`: an endpoint URL starts with http:// or https://"
                ));
            }
            rest
        }
        None => {
            return Err(format!(
                "`{t}` has no scheme: add http:// or https:// (e.g. http://{t})"
            ))
        }
    };
    if t.contains('?') || t.contains('#') {
        return Err(format!(
            "`{t}` has a query or fragment: an endpoint URL is scheme, host, port and path only"
        ));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.rsplit_once('@') {
        Some(_) => {
            return Err(format!(
                "`{t}` has credentials in it: give them through the AWS credential chain"
            ))
        }
        None => authority,
    };
    let (name, port) = if host.starts_with('[') {
        match host.split_once(']') {
            Some((name, port)) => (&name[1..], port.strip_prefix(':')),
            None => return Err(format!("`{t}`: the IPv6 host has no closing `]`")),
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        }
    };
    if name.is_empty() || name.chars().any(|c| c.is_whitespace()) {
        return Err(format!("`{t}` has no host"));
    }
    if let Some(p) = port {
        if p.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!(
                "`{t}`: the port `{p}` is not a number from 1 to 65535"
            ));
        }
    }
    Ok(t.to_string())
}

fn env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

fn shown_path(var: &str, default: &str) -> String {
    env(var).unwrap_or_else(|| default.to_string())
}

/// Reads the settings: the profile files once, the environment, the flags in `opts`.
pub async fn settings(opts: &super::LiveOptions) -> Result<Settings, SettingsError> {
    let flag_profile = opts.profile.clone().filter(|p| !p.is_empty());
    let env_profile = env("AWS_PROFILE");
    let named = flag_profile
        .as_ref()
        .map(|p| (p.clone(), "--profile"))
        .or_else(|| env_profile.map(|p| (p, "AWS_PROFILE")));
    let fs = aws_types::os_shim_internal::Fs::real();
    let os_env = aws_types::os_shim_internal::Env::real();
    let files = aws_runtime::env_config::file::EnvConfigFiles::default();
    let set = aws_config::profile::load(&fs, &os_env, &files, flag_profile.clone().map(Cow::Owned))
        .await
        .map_err(|e| SettingsError::Files(e.to_string()))?;
    let selected = set.selected_profile().to_string();
    let profile = set.get_profile(&selected);
    if let Some((name, from)) = &named {
        // `default` may be named with nothing in the files (credentials from the environment).
        if profile.is_none() && name != "default" {
            let mut profiles: Vec<String> = set.profiles().map(str::to_string).collect();
            profiles.sort();
            return Err(SettingsError::NoSuchProfile {
                name: name.clone(),
                from,
                config: shown_path("AWS_CONFIG_FILE", "~/.aws/config"),
                credentials: shown_path("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
                profiles,
            });
        }
    }
    let from_profile = |key: &'static str| -> Option<(String, Source)> {
        let v = profile?.get(key)?.trim();
        (!v.is_empty()).then(|| {
            (
                v.to_string(),
                Source::Profile {
                    profile: selected.clone(),
                    key,
                },
            )
        })
    };
    let pick = |flag: Option<(String, &'static str)>,
                vars: &[&'static str],
                key: &'static str|
     -> Option<(String, Source)> {
        flag.map(|(v, f)| (v, Source::Flag(f)))
            .or_else(|| {
                vars.iter()
                    .find_map(|var| env(var).map(|v| (v, Source::Env(var))))
            })
            .or_else(|| from_profile(key))
    };

    let (region, region_from) = pick(
        opts.region
            .clone()
            .filter(|r| !r.is_empty())
            .map(|r| (r, "--region")),
        &["AWS_REGION", "AWS_DEFAULT_REGION"],
        "region",
    )
    .unwrap_or_else(|| ("us-east-1".to_string(), Source::Default));

    let (max_attempts, max_attempts_from) = match pick(None, &["AWS_MAX_ATTEMPTS"], "max_attempts")
    {
        Some((v, from)) => match v.parse::<u32>() {
            Ok(n) if n >= 1 => (n, from),
            _ => {
                return Err(SettingsError::Invalid {
                    from,
                    value: v,
                    why: "the number of attempts is a whole number, 1 or more".into(),
                })
            }
        },
        None => (DEFAULT_MAX_ATTEMPTS, Source::Default),
    };

    let (retry_mode, retry_mode_from) = match pick(None, &["AWS_RETRY_MODE"], "retry_mode") {
        Some((v, from)) => match v.to_ascii_lowercase().as_str() {
            "standard" | "legacy" => (RetryMode::Standard, from),
            "adaptive" => (RetryMode::Adaptive, from),
            _ => {
                return Err(SettingsError::Invalid {
                    from,
                    value: v,
                    why: "the retry mode is standard or adaptive".into(),
                })
            }
        },
        None => (RetryMode::Standard, Source::Default),
    };

    let ca_bundle = match pick(None, &["AWS_CA_BUNDLE"], "ca_bundle") {
        Some((path, from)) => Some(read_ca_bundle(PathBuf::from(path), from)?),
        None => None,
    };

    // Endpoint URLs from the environment and the profile are checked as the flag is.
    if !env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        // The variables of the services iamwarden calls (another service's is not ours).
        for var in ENDPOINT_VARS {
            if let Some(value) = env(var) {
                if let Err(why) = check_endpoint_url(&value) {
                    return Err(SettingsError::Invalid {
                        from: Source::Env(var),
                        value,
                        why,
                    });
                }
            }
        }
        if let Some((value, from)) = from_profile("endpoint_url") {
            if let Err(why) = check_endpoint_url(&value) {
                return Err(SettingsError::Invalid { from, value, why });
            }
        }
    }

    Ok(Settings {
        profile: named.map(|(name, _)| name),
        region,
        region_from,
        max_attempts,
        max_attempts_from,
        retry_mode,
        retry_mode_from,
        ca_bundle,
    })
}

/// The endpoint URL variables aws-config reads for the services iamwarden calls.
const ENDPOINT_VARS: &[&str] = &[
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_IAM",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_KMS",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_ORGANIZATIONS",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
];

fn read_ca_bundle(path: PathBuf, from: Source) -> Result<CaBundle, SettingsError> {
    let fail = |message: String| SettingsError::CaBundle {
        path: path.display().to_string(),
        from: from.clone(),
        message,
    };
    let pem = std::fs::read(&path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    // aws-smithy's TLS setup panics on a bundle it cannot use: check every certificate here.
    use rustls_pki_types::pem::PemObject;
    let certs = rustls_pki_types::CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(format!("not a PEM certificate bundle ({e})")))?;
    if certs.is_empty() {
        return Err(fail("it has no PEM certificate".into()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| fail(format!("a certificate cannot be used as a root ({e})")))?;
    }
    Ok(CaBundle { path, from, pem })
}

/// The HTTP client of every SDK client: rustls with the system roots (or the CA bundle
/// instead), the proxy environment variables, and [`FailFast`] around it.
pub(crate) fn http_client(ca: Option<&CaBundle>) -> SharedHttpClient {
    let tls_context = ca.map(|ca| {
        TlsContext::builder()
            .with_trust_store(TrustStore::empty().with_pem_certificate(ca.pem.clone()))
            .build()
    });
    let tls_context = match tls_context {
        Some(Ok(ctx)) => Some(ctx),
        // `build` never fails today; the system roots are the safe fallback if it ever does.
        _ => None,
    };
    let inner = aws_smithy_http_client::Builder::new().build_with_connector_fn(
        move |settings: Option<&HttpConnectorSettings>, components: Option<&RuntimeComponents>| {
            let mut builder =
                ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
            if let Some(ctx) = &tls_context {
                builder = builder.tls_context(ctx.clone());
            }
            builder.set_connector_settings(settings.cloned());
            if let Some(c) = components {
                builder.set_sleep_impl(c.sleep_impl());
            }
            builder.set_proxy_config(Some(ProxyConfig::from_env()));
            builder.build()
        },
    );
    SharedHttpClient::new(FailFast(inner))
}

/// An HTTP client whose connection failures that no retry can mend (refused, DNS, a refused
/// certificate) are not
/// retried by the SDK: they are turned from I/O errors (transient) into unclassified ones.
#[derive(Debug, Clone)]
pub(crate) struct FailFast(SharedHttpClient);

impl HttpClient for FailFast {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(FailFastConnector(
            self.0.http_connector(settings, components),
        ))
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[derive(Debug)]
struct FailFastConnector(SharedHttpConnector);

impl HttpConnector for FailFastConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.0.call(request);
        HttpConnectorFuture::new(async move {
            match inner.await {
                Err(e) if unreachable(&e) || bad_certificate(&e) => {
                    Err(ConnectorError::other(Box::new(e), None).never_connected())
                }
                other => other,
            }
        })
    }
}

/// The endpoint cannot be reached at all: the connection was refused or the name does not
/// resolve. A timeout, a TLS failure or a cut connection is not this.
pub(crate) fn unreachable(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable
            ) {
                return true;
            }
        }
        let text = e.to_string();
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return true;
        }
        cur = e.source();
    }
    false
}

/// The server's certificate was refused (an unknown CA, a wrong name, expired): no retry
/// changes that.
pub(crate) fn bad_certificate(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if e.to_string().contains("invalid peer certificate") {
            return true;
        }
        cur = e.source();
    }
    false
}

/// The AWS services whose endpoint [`endpoint`] can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// IAM.
    Iam,
    /// STS.
    Sts,
    /// KMS.
    Kms,
    /// SQS.
    Sqs,
    /// Organizations.
    Organizations,
    /// Secrets Manager.
    SecretsManager,
}

impl Service {
    /// The service id aws-config's `AWS_ENDPOINT_URL_<ID>` and `services` sections use.
    fn id(self) -> &'static str {
        match self {
            Service::Iam => "IAM",
            Service::Sts => "STS",
            Service::Kms => "KMS",
            Service::Sqs => "SQS",
            Service::Organizations => "Organizations",
            Service::SecretsManager => "Secrets Manager",
        }
    }
}

macro_rules! resolve_default {
    ($sdk:ident, $config:expr) => {{
        use $sdk::config::endpoint::ResolveEndpoint;
        let params = $sdk::config::endpoint::Params::builder()
            .set_region($config.region().map(|r| r.to_string()))
            .use_fips($config.use_fips().unwrap_or(false))
            .use_dual_stack($config.use_dual_stack().unwrap_or(false))
            .build();
        params.ok().and_then(|p| {
            futures_util::FutureExt::now_or_never(
                $sdk::config::endpoint::DefaultResolver::new().resolve_endpoint(&p),
            )
            .and_then(Result::ok)
            .map(|e| e.url().to_string())
        })
    }};
}

/// The URL a client built from `config` calls `service` at, resolved as the SDK resolves it:
/// an endpoint URL set in code (`--endpoint-url`) first, then aws-config's service and global
/// settings (`AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the profile), else the SDK's
/// endpoint rules for the region (`cn-north-1` -> `https://iam.cn-north-1.amazonaws.com.cn`).
/// No request is made.
pub fn endpoint(config: &aws_config::SdkConfig, service: Service) -> String {
    let configured = if config.get_origin("endpoint_url").is_client_config() {
        config.endpoint_url().map(str::to_string)
    } else {
        aws_types::service_config::ServiceConfigKey::builder()
            .service_id(service.id())
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .ok()
            .and_then(|key| config.service_config().and_then(|c| c.load_config(key)))
            .or_else(|| config.endpoint_url().map(str::to_string))
    };
    if let Some(url) = configured {
        return url;
    }
    let resolved = match service {
        Service::Iam => resolve_default!(aws_sdk_iam, config),
        Service::Sts => resolve_default!(aws_sdk_sts, config),
        Service::Kms => resolve_default!(aws_sdk_kms, config),
        Service::Sqs => resolve_default!(aws_sdk_sqs, config),
        Service::Organizations => resolve_default!(aws_sdk_organizations, config),
        Service::SecretsManager => resolve_default!(aws_sdk_secretsmanager, config),
    };
    resolved.unwrap_or_else(|| format!("the {} endpoint", service.id()))
}

#[cfg(test)]
mod tests {
    use super::check_endpoint_url;

    #[test]
    fn endpoint_urls_are_checked() {
        assert!(check_endpoint_url("http://127.0.0.1:5000").is_ok());
        assert!(check_endpoint_url("https://iam.amazonaws.com/").is_ok());
        assert!(check_endpoint_url("http://[::1]:5000/x").is_ok());
        let e = check_endpoint_url("example.com:5000").unwrap_err();
        assert!(e.contains("add http:// or https://"), "{e}");
        assert!(check_endpoint_url("ftp://x")
            .unwrap_err()
            .contains("scheme `ftp`"));
        assert!(check_endpoint_url("http://x/?a=1")
            .unwrap_err()
            .contains("query"));
        assert!(check_endpoint_url("http://")
            .unwrap_err()
            .contains("no host"));
        assert!(check_endpoint_url("http://x:99999")
            .unwrap_err()
            .contains("port"));
        assert!(check_endpoint_url("http://u:p@x")
            .unwrap_err()
            .contains("credentials"));
    }
}
