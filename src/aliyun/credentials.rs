//! Alibaba Cloud credentials, from the usual places, in this order:
//!
//! 1. `--profile NAME` (or `ALIBABA_CLOUD_PROFILE`): that profile of `~/.aliyun/config.json` (the
//!    `aliyun` CLI's file; modes `AK`, `StsToken`, `RamRoleArn`, `ChainableRamRoleArn`, `EcsRamRole`);
//! 2. `ALIBABA_CLOUD_ACCESS_KEY_ID` / `ALIBABA_CLOUD_ACCESS_KEY_SECRET` (+ `ALIBABA_CLOUD_SECURITY_TOKEN`);
//! 3. the config file's current profile, when the file exists;
//! 4. the ECS instance RAM role, from the metadata service at 100.100.100.200 (hardened mode: a session
//!    token first), unless `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true`; `ALIBABA_CLOUD_ECS_METADATA`
//!    names the role (else it is discovered).
//!
//! `--role-arn` then assumes a RAM role on top (STS `AssumeRole`, itself a signed call, through a client
//! whose guard allows that one action). Temporary credentials are refreshed five minutes before they
//! expire. Nothing here is ever logged or recorded.

use super::client::{CallSpec, Endpoints, Guard, OpenApi, Retry};
use crate::probes::ApiInfo;
use anyhow::{bail, Context, Result};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::Mutex;

/// One set of credentials.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub access_key_secret: String,
    pub security_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &"***")
            .finish_non_exhaustive()
    }
}

/// Temporary credentials and when they expire, or why they could not be had (remembered, so a scan
/// without credentials does not ask the metadata service or STS again for every call).
#[derive(Default)]
pub struct Slot {
    creds: Option<(Credentials, Option<chrono::DateTime<chrono::Utc>>)>,
    failed: Option<String>,
}

type Cache = Mutex<Slot>;

/// Where credentials come from.
pub enum CredentialSource {
    Static(Credentials),
    /// The ECS instance RAM role (role name given or discovered).
    EcsRole {
        role: Option<String>,
        cache: Cache,
    },
    /// A RAM role assumed with the base credentials.
    AssumeRole {
        base: Arc<CredentialSource>,
        role_arn: String,
        session_name: String,
        external_id: Option<String>,
        endpoints: Endpoints,
        region: String,
        retry: Retry,
        cache: Cache,
    },
}

/// What `--profile`, `--role-arn` and friends asked for.
#[derive(Debug, Clone, Default)]
pub struct CredentialOptions {
    pub profile: Option<String>,
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
}

const METADATA: &str = "http://100.100.100.200";
const STS_VERSION: &str = "2015-04-01";

/// The STS product's API facts (AssumeRole).
pub fn sts_api() -> ApiInfo {
    ApiInfo {
        version: STS_VERSION.into(),
        endpoint: "sts.aliyuncs.com".into(),
        endpoints: Default::default(),
        region_param: String::new(),
        style: Default::default(),
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The `aliyun` CLI's configuration file.
pub fn config_path() -> Option<std::path::PathBuf> {
    env("HOME").map(|h| std::path::Path::new(&h).join(".aliyun/config.json"))
}

/// A profile's region (`region_id`), used as the home region when `--regions` is not given.
pub fn profile_region(profile: Option<&str>) -> Option<String> {
    let cfg = read_config().ok()??;
    let name = profile
        .map(str::to_string)
        .or_else(|| env("ALIBABA_CLOUD_PROFILE"))
        .or_else(|| {
            cfg.get("current")
                .and_then(|c| c.as_str())
                .map(str::to_string)
        })?;
    find_profile(&cfg, &name)?
        .get("region_id")
        .and_then(|r| r.as_str())
        .filter(|r| !r.is_empty())
        .map(str::to_string)
}

fn read_config() -> Result<Option<serde_json::Value>> {
    let Some(path) = config_path() else {
        return Ok(None);
    };
    if !path.exists() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Some(
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?,
    ))
}

fn find_profile<'a>(cfg: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    cfg.get("profiles")?
        .as_array()?
        .iter()
        .find(|p| p.get("name").and_then(|n| n.as_str()) == Some(name))
}

fn from_profile(
    cfg: &serde_json::Value,
    name: &str,
    opts: &Resolve,
    depth: u8,
) -> Result<CredentialSource> {
    let p = find_profile(cfg, name).with_context(|| {
        format!(
            "no profile `{name}` in {}",
            config_path()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        )
    })?;
    let s = |k: &str| {
        p.get(k)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let ak = || -> Result<Credentials> {
        Ok(Credentials {
            access_key_id: s("access_key_id")
                .with_context(|| format!("profile `{name}` has no access_key_id"))?,
            access_key_secret: s("access_key_secret")
                .with_context(|| format!("profile `{name}` has no access_key_secret"))?,
            security_token: None,
        })
    };
    let mode = s("mode").unwrap_or_else(|| "AK".into());
    Ok(match mode.as_str() {
        "AK" => CredentialSource::Static(ak()?),
        "StsToken" => CredentialSource::Static(Credentials {
            security_token: Some(s("sts_token").with_context(|| format!("profile `{name}` has no sts_token"))?),
            ..ak()?
        }),
        "EcsRamRole" => CredentialSource::EcsRole { role: s("ram_role_name"), cache: Mutex::new(Slot::default()) },
        "RamRoleArn" | "ChainableRamRoleArn" => {
            let base = if mode == "RamRoleArn" {
                CredentialSource::Static(ak()?)
            } else {
                if depth > 4 {
                    bail!("profile `{name}`: source_profile chain is too long");
                }
                let src = s("source_profile").with_context(|| format!("profile `{name}` has no source_profile"))?;
                from_profile(cfg, &src, opts, depth + 1)?
            };
            opts.assume(
                Arc::new(base),
                s("ram_role_arn").with_context(|| format!("profile `{name}` has no ram_role_arn"))?,
                s("ram_session_name"),
                s("external_id"),
            )
        }
        other => bail!("profile `{name}` uses mode {other}; dengbao reads AK, StsToken, RamRoleArn, ChainableRamRoleArn and EcsRamRole profiles"),
    })
}

/// Settings the AssumeRole step needs.
pub struct Resolve {
    pub endpoints: Endpoints,
    pub region: String,
    pub retry: Retry,
}

impl Resolve {
    fn assume(
        &self,
        base: Arc<CredentialSource>,
        role_arn: String,
        session_name: Option<String>,
        external_id: Option<String>,
    ) -> CredentialSource {
        CredentialSource::AssumeRole {
            base,
            role_arn,
            session_name: session_name.unwrap_or_else(|| "dengbao-readonly".into()),
            external_id,
            endpoints: self.endpoints.clone(),
            region: self.region.clone(),
            retry: self.retry,
            cache: Mutex::new(Slot::default()),
        }
    }
}

/// Resolves the credential chain (see the module documentation).
pub fn resolve(opts: &CredentialOptions, r: &Resolve) -> Result<CredentialSource> {
    let profile = opts
        .profile
        .clone()
        .or_else(|| env("ALIBABA_CLOUD_PROFILE"));
    let base = if let Some(name) = profile {
        let cfg = read_config()?.with_context(|| {
            format!(
                "--profile {name}: {} does not exist",
                config_path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "~/.aliyun/config.json".into())
            )
        })?;
        from_profile(&cfg, &name, r, 0)?
    } else if let (Some(id), Some(secret)) = (
        env("ALIBABA_CLOUD_ACCESS_KEY_ID"),
        env("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
    ) {
        CredentialSource::Static(Credentials {
            access_key_id: id,
            access_key_secret: secret,
            security_token: env("ALIBABA_CLOUD_SECURITY_TOKEN"),
        })
    } else if let Some(cfg) = read_config()? {
        let current = cfg
            .get("current")
            .and_then(|c| c.as_str())
            .unwrap_or("default")
            .to_string();
        from_profile(&cfg, &current, r, 0)?
    } else if env("ALIBABA_CLOUD_ECS_METADATA_DISABLED")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        bail!("no Alibaba Cloud credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or give --profile (~/.aliyun/config.json); the ECS instance role is disabled (ALIBABA_CLOUD_ECS_METADATA_DISABLED)")
    } else {
        CredentialSource::EcsRole {
            role: env("ALIBABA_CLOUD_ECS_METADATA"),
            cache: Mutex::new(Slot::default()),
        }
    };
    Ok(match &opts.role_arn {
        Some(arn) => r.assume(Arc::new(base), arn.clone(), None, opts.external_id.clone()),
        None => base,
    })
}

fn fresh(slot: &Slot) -> Option<Credentials> {
    let (creds, expiry) = slot.creds.as_ref()?;
    match expiry {
        Some(t) if *t - chrono::Utc::now() < chrono::Duration::minutes(5) => None,
        _ => Some(creds.clone()),
    }
}

fn expiry(s: Option<&str>) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s?)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

impl CredentialSource {
    /// Current credentials (fetched or refreshed when needed; a failure is remembered).
    pub fn get<'a>(
        &'a self,
        http: &'a reqwest::Client,
    ) -> Pin<Box<dyn Future<Output = Result<Credentials>> + Send + 'a>> {
        Box::pin(async move {
            let cache = match self {
                CredentialSource::Static(c) => return Ok(c.clone()),
                CredentialSource::EcsRole { cache, .. }
                | CredentialSource::AssumeRole { cache, .. } => cache,
            };
            let mut slot = cache.lock().await;
            if let Some(why) = &slot.failed {
                bail!("{why}");
            }
            if let Some(c) = fresh(&slot) {
                return Ok(c);
            }
            match self.fetch(http).await {
                Ok((c, exp)) => {
                    slot.creds = Some((c.clone(), exp));
                    Ok(c)
                }
                Err(e) => {
                    slot.failed = Some(format!("{e:#}"));
                    Err(e)
                }
            }
        })
    }

    async fn fetch(
        &self,
        http: &reqwest::Client,
    ) -> Result<(Credentials, Option<chrono::DateTime<chrono::Utc>>)> {
        match self {
            CredentialSource::Static(c) => Ok((c.clone(), None)),
            CredentialSource::EcsRole { role, .. } => ecs_role(http, role.as_deref()).await,
            CredentialSource::AssumeRole {
                base,
                role_arn,
                session_name,
                external_id,
                endpoints,
                region,
                retry,
                ..
            } => {
                let sts = OpenApi::new(
                    Guard::credential_exchange(),
                    endpoints.clone(),
                    base.clone(),
                    *retry,
                )?;
                let mut params = vec![
                    ("RoleArn".to_string(), role_arn.clone()),
                    ("RoleSessionName".to_string(), session_name.clone()),
                    ("DurationSeconds".to_string(), "3600".to_string()),
                ];
                if let Some(x) = external_id {
                    params.push(("ExternalId".to_string(), x.clone()));
                }
                let api = sts_api();
                let resp = sts
                    .call(&CallSpec {
                        product: "sts",
                        api: &api,
                        region,
                        action: "AssumeRole",
                        params,
                    })
                    .await
                    .map_err(|f| {
                        anyhow::anyhow!("AssumeRole {role_arn}: {}: {}", f.code, f.message)
                    })?;
                if resp.status >= 300 {
                    let (code, msg) = super::client::error_from_body(&resp.body)
                        .unwrap_or((format!("HTTP{}", resp.status), String::new()));
                    bail!("AssumeRole {role_arn}: {code}: {msg}");
                }
                let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
                let c = &v["Credentials"];
                let get = |k: &str| c.get(k).and_then(|x| x.as_str()).map(str::to_string);
                let creds = Credentials {
                    access_key_id: get("AccessKeyId")
                        .context("AssumeRole answered without Credentials.AccessKeyId")?,
                    access_key_secret: get("AccessKeySecret")
                        .context("AssumeRole answered without Credentials.AccessKeySecret")?,
                    security_token: get("SecurityToken"),
                };
                Ok((creds, expiry(get("Expiration").as_deref())))
            }
        }
    }
}

/// Credentials of the instance's RAM role, from the ECS metadata service.
async fn ecs_role(
    http: &reqwest::Client,
    role: Option<&str>,
) -> Result<(Credentials, Option<chrono::DateTime<chrono::Utc>>)> {
    let short = std::time::Duration::from_secs(2);
    let token = http
        .put(format!("{METADATA}/latest/api/token"))
        .header("X-aliyun-ecs-metadata-token-ttl-seconds", "21600")
        .timeout(short)
        .send()
        .await
        .ok()
        .filter(|r| r.status().is_success());
    let token = match token {
        Some(r) => r.text().await.ok(),
        None => None,
    };
    let get = |path: String| {
        let mut req = http.get(format!("{METADATA}{path}")).timeout(short);
        if let Some(t) = &token {
            req = req.header("X-aliyun-ecs-metadata-token", t.as_str());
        }
        req.send()
    };
    let base = "/latest/meta-data/ram/security-credentials/";
    let role = match role {
        Some(r) => r.to_string(),
        None => get(base.to_string())
            .await
            .and_then(|r| r.error_for_status())
            .context("no credentials found, and this is not an ECS instance with a RAM role (metadata 100.100.100.200 did not answer)")?
            .text()
            .await?
            .trim()
            .to_string(),
    };
    let text = get(format!("{base}{role}"))
        .await
        .and_then(|r| r.error_for_status())
        .with_context(|| format!("reading the credentials of instance role {role}"))?
        .text()
        .await?;
    let v: serde_json::Value =
        serde_json::from_str(&text).context("instance role credentials are not JSON")?;
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    Ok((
        Credentials {
            access_key_id: s("AccessKeyId")
                .context("instance role credentials without AccessKeyId")?,
            access_key_secret: s("AccessKeySecret")
                .context("instance role credentials without AccessKeySecret")?,
            security_token: s("SecurityToken"),
        },
        expiry(s("Expiration").as_deref()),
    ))
}
