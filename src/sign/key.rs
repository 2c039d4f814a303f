//! The signer behind `--key`: an OpenSSH private key file, or a public key whose private half a
//! running `ssh-agent` holds (`SSH_AUTH_SOCK`).
//!
//! * `--key id_ed25519` (`-----BEGIN OPENSSH PRIVATE KEY-----`): signed in-process. An encrypted key
//!   needs `--passphrase-file FILE` (its first line is the passphrase); without one it is refused with
//!   what to do instead (the agent). dengbao never prompts: it runs in scripts and CI.
//! * `--key id_ed25519.pub` (one `ssh-ed25519 AAAA… comment` line): the agent at `SSH_AUTH_SOCK` signs;
//!   the private key never reaches dengbao.
//! * PEM keys (`BEGIN RSA PRIVATE KEY`, `BEGIN EC PRIVATE KEY`, PKCS#8) are refused with the
//!   `ssh-keygen -p` command that converts them.

use anyhow::{anyhow, bail, Context, Result};
use ssh_key::{HashAlg, PrivateKey, PublicKey, SshSig};
use std::path::{Path, PathBuf};

/// Largest key file read: an RSA-16384 private key is about 12 KiB.
const KEY_LIMIT: u64 = 1 << 20;

/// Who signs.
pub enum Signer {
    /// A private key in memory.
    Private(Box<PrivateKey>),
    /// A key held by ssh-agent, reached over `socket`.
    Agent { public: PublicKey, socket: PathBuf },
}

impl Signer {
    /// A signer from a private key already in memory.
    pub fn from_private(key: PrivateKey) -> Self {
        Signer::Private(Box::new(key))
    }

    /// Loads `--key PATH`; `passphrase_file` decrypts an encrypted private key.
    pub fn load(path: &Path, passphrase_file: Option<&Path>) -> Result<Self> {
        let text = read_bounded(path)?;
        let trimmed = text.trim();
        if trimmed.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----") {
            let key = PrivateKey::from_openssh(trimmed).with_context(|| {
                format!("{}: not a readable OpenSSH private key", path.display())
            })?;
            return Ok(Signer::from_private(decrypt(key, path, passphrase_file)?));
        }
        if trimmed.starts_with("-----BEGIN ") {
            bail!(
                "{}: a PEM private key; dengbao reads OpenSSH-format keys: convert a copy with \
                 `ssh-keygen -p -f COPY` (it rewrites the key in OpenSSH format)",
                path.display()
            );
        }
        let public = PublicKey::from_openssh(trimmed).with_context(|| {
            format!(
                "{}: neither an OpenSSH private key nor a public key (`ssh-ed25519 AAAA…`)",
                path.display()
            )
        })?;
        Self::from_agent(public, path)
    }

    fn from_agent(public: PublicKey, path: &Path) -> Result<Self> {
        let socket = std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from).ok_or_else(|| {
            anyhow!(
                "{}: a public key, so ssh-agent must sign, but SSH_AUTH_SOCK is not set: start an agent \
                 (`eval $(ssh-agent)`) and `ssh-add` the private key, or pass the private key file",
                path.display()
            )
        })?;
        let mut client = ssh_agent_client_rs::Client::connect(&socket).with_context(|| {
            format!(
                "connecting to ssh-agent at {} (SSH_AUTH_SOCK)",
                socket.display()
            )
        })?;
        let held = client
            .list_all_identities()
            .with_context(|| format!("listing the keys of ssh-agent at {}", socket.display()))?;
        if !held
            .iter()
            .any(|k| <&ssh_key::public::KeyData>::from(k) == public.key_data())
        {
            bail!(
                "{}: ssh-agent at {} does not hold this key ({}): `ssh-add` its private key first",
                path.display(),
                socket.display(),
                super::describe_key(public.key_data())
            );
        }
        Ok(Signer::Agent { public, socket })
    }

    /// The public key that signs.
    pub fn public_key(&self) -> &ssh_key::public::KeyData {
        match self {
            Signer::Private(k) => k.public_key().key_data(),
            Signer::Agent { public, .. } => public.key_data(),
        }
    }

    /// An SSHSIG over `msg` under `namespace`.
    pub(super) fn sign(&self, namespace: &str, hash: HashAlg, msg: &[u8]) -> Result<SshSig> {
        match self {
            Signer::Private(key) => match key.key_data() {
                ssh_key::private::KeypairData::Rsa(keypair) => {
                    let data = SshSig::signed_data(namespace, hash, msg)?;
                    let signature = sign_rsa(keypair, &data)?;
                    SshSig::new(
                        key.public_key().key_data().clone(),
                        namespace,
                        hash,
                        signature,
                    )
                    .context("assembling the RSA signature")
                }
                _ => key
                    .sign(namespace, hash, msg)
                    .context("signing with the private key"),
            },
            Signer::Agent { public, socket } => {
                let data = SshSig::signed_data(namespace, hash, msg)?;
                let mut client = ssh_agent_client_rs::Client::connect(socket)
                    .with_context(|| format!("connecting to ssh-agent at {}", socket.display()))?;
                // RSA requests ask for rsa-sha2-512 (the client's fixed choice), as ssh-keygen does.
                let signature = client.sign(public, &data).with_context(|| {
                    format!(
                        "ssh-agent at {} refused to sign (a confirm-constrained key needs the user's approval)",
                        socket.display()
                    )
                })?;
                SshSig::new(public.key_data().clone(), namespace, hash, signature)
                    .context("assembling the agent's signature")
            }
        }
    }
}

/// An `rsa-sha2-512` signature (PKCS#1 v1.5 over SHA-512, as `ssh-keygen -Y sign` makes) of `data`.
/// Built here from n, e, d, p and q: ssh-key 0.6.7's own conversion passes p twice and fails.
fn sign_rsa(key: &ssh_key::private::RsaKeypair, data: &[u8]) -> Result<ssh_key::Signature> {
    use rsa::signature::{SignatureEncoding, Signer as _};
    let big = |m: &ssh_key::Mpint| rsa::BigUint::try_from(m).context("an RSA key component");
    let private = rsa::RsaPrivateKey::from_components(
        big(&key.public.n)?,
        big(&key.public.e)?,
        big(&key.private.d)?,
        vec![big(&key.private.p)?, big(&key.private.q)?],
    )
    .context("an inconsistent RSA private key")?;
    let signing = rsa::pkcs1v15::SigningKey::<sha2_010::Sha512>::new(private);
    let signature = signing.try_sign(data).context("signing with the RSA key")?;
    ssh_key::Signature::new(
        ssh_key::Algorithm::Rsa {
            hash: Some(HashAlg::Sha512),
        },
        signature.to_vec(),
    )
    .context("encoding the RSA signature")
}

fn decrypt(key: PrivateKey, path: &Path, passphrase_file: Option<&Path>) -> Result<PrivateKey> {
    if !key.is_encrypted() {
        return Ok(key);
    }
    let Some(file) = passphrase_file else {
        bail!(
            "{}: the key is encrypted: give `--passphrase-file FILE` (its first line is the passphrase), \
             or `ssh-add` the key to ssh-agent and pass its public key (`--key {}.pub`)",
            path.display(),
            path.display()
        );
    };
    let text = read_bounded(file)?;
    let passphrase = text.lines().next().unwrap_or("");
    key.decrypt(passphrase).map_err(|_| {
        anyhow!(
            "{}: the passphrase in {} does not decrypt this key",
            path.display(),
            file.display()
        )
    })
}

/// A key or passphrase file, refused when implausibly large. A pipe is read too (`--passphrase-file
/// <(pass show …)`), bounded like a file.
fn read_bounded(path: &Path) -> Result<String> {
    let bytes = crate::limits::read_file(path, KEY_LIMIT, "a key or passphrase file", "KEY_LIMIT")?;
    String::from_utf8(bytes).map_err(|_| anyhow!("{}: not UTF-8 text", path.display()))
}
