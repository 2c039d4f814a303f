//! Signed packs and assessments: SSH signatures (OpenSSH's SSHSIG format, armored), so that anyone can
//! check who produced a pack with OpenSSH alone:
//!
//! ```text
//! ssh-keygen -Y verify -f allowed_signers -I SIGNER -n dengbao-pack \
//!     -s PACK/manifest.json.sig < PACK/manifest.json
//! ```
//!
//! * [`key`] loads the signer: an OpenSSH private key file (ed25519, ECDSA P-256/P-384, RSA; an
//!   encrypted one with a passphrase file), or a public key whose private half a running `ssh-agent`
//!   holds.
//! * [`allowed`] reads OpenSSH's allowed_signers file, which says whose keys are trusted for what.
//! * [`sign`] and [`verify`] sign and check exact bytes under a namespace: [`PACK_NAMESPACE`] for the
//!   tenant's `manifest.json`, [`ASSESSMENT_NAMESPACE`] for the assessor's `assessment/assessment.json`.
//!
//! The format is implemented by the RustCrypto `ssh-key` crate; dengbao never runs `ssh-keygen`.

pub mod allowed;
pub mod key;

use crate::pack::closed::ClosedDir;
use anyhow::{Context, Result};
use ssh_key::{HashAlg, LineEnding, SshSig};
use std::fmt;

pub use allowed::AllowedSigners;
pub use key::Signer;

/// The namespace of a signature over a pack's `manifest.json`.
pub const PACK_NAMESPACE: &str = "dengbao-pack";
/// The namespace of a signature over an assessment's `assessment.json`.
pub const ASSESSMENT_NAMESPACE: &str = "dengbao-assessment";
/// Largest signature file read (an RSA-16384 signature is well under 8 KiB armored).
pub const SIG_LIMIT: u64 = 64 << 10;

/// Signs `msg` under `namespace`; the armored SSHSIG text (`-----BEGIN SSH SIGNATURE-----`).
pub fn sign(signer: &Signer, namespace: &str, msg: &[u8]) -> Result<String> {
    // SHA-512, as `ssh-keygen -Y sign` does by default.
    let sig = signer.sign(namespace, HashAlg::Sha512, msg)?;
    sig.to_pem(LineEnding::LF)
        .context("encoding the signature as armored SSHSIG")
}

/// A signature that checked out: who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The principals of the allowed_signers line that holds the key (e.g. `tenant@example.com`).
    pub principals: Vec<String>,
    /// The key's algorithm and fingerprint: `ED25519 SHA256:…`.
    pub key: String,
}

impl fmt::Display for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.principals.join(","), self.key)
    }
}

/// Why a signature did not check out; each says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigProblem {
    /// The bytes are not an armored SSHSIG.
    Malformed(String),
    /// Signed for another purpose (a pack signature presented as an assessment one, …).
    WrongNamespace { expected: String, found: String },
    /// The signing key is not in the allowed_signers file (or not for this namespace, or not now).
    UnknownSigner { key: String, why: String },
    /// The key is trusted but the signature does not match these bytes.
    BadSignature {
        key: String,
        principals: Vec<String>,
    },
}

impl fmt::Display for SigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigProblem::Malformed(e) => write!(f, "not an SSH signature: {e}"),
            SigProblem::WrongNamespace { expected, found } => write!(
                f,
                "the signature is for namespace `{found}`, not `{expected}`: it signs something else"
            ),
            SigProblem::UnknownSigner { key, why } => {
                write!(f, "signed by {key}, which {why}")
            }
            SigProblem::BadSignature { key, principals } => write!(
                f,
                "the signature by {} ({key}) does not match these bytes: they changed after signing",
                principals.join(",")
            ),
        }
    }
}

/// `ED25519 SHA256:…` for a key.
pub fn describe_key(key: &ssh_key::public::KeyData) -> String {
    let algorithm = match key.algorithm() {
        ssh_key::Algorithm::Ed25519 => "ED25519".to_string(),
        ssh_key::Algorithm::Rsa { .. } => "RSA".to_string(),
        ssh_key::Algorithm::Ecdsa { curve } => format!("ECDSA-{}", curve.as_str()),
        other => other.as_str().to_string(),
    };
    format!("{algorithm} {}", key.fingerprint(HashAlg::Sha256))
}

/// Checks the armored signature `armored` over `msg` under `namespace` against `allowed`: the signer's
/// principals when it holds.
pub fn verify(
    allowed: &AllowedSigners,
    namespace: &str,
    msg: &[u8],
    armored: &[u8],
) -> Result<Verified, SigProblem> {
    let (sig, key) = parse(namespace, armored)?;
    let entry = allowed
        .trusting(sig.public_key(), namespace, chrono::Utc::now())
        .map_err(|why| SigProblem::UnknownSigner {
            key: key.clone(),
            why,
        })?;
    let public = ssh_key::PublicKey::new(sig.public_key().clone(), "");
    match public.verify(namespace, msg, &sig) {
        Ok(()) => Ok(Verified {
            principals: entry.principals.clone(),
            key,
        }),
        Err(_) => Err(SigProblem::BadSignature {
            key,
            principals: entry.principals.clone(),
        }),
    }
}

/// Checks only that the signature matches `msg` under the key it carries (no allowed_signers given):
/// the key that signed, for `verify` to show.
pub fn check_self_consistent(
    namespace: &str,
    msg: &[u8],
    armored: &[u8],
) -> Result<String, SigProblem> {
    let (sig, key) = parse(namespace, armored)?;
    let public = ssh_key::PublicKey::new(sig.public_key().clone(), "");
    public
        .verify(namespace, msg, &sig)
        .map(|()| key.clone())
        .map_err(|_| SigProblem::BadSignature {
            key,
            principals: vec!["its key".into()],
        })
}

/// What a layer's signature file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigStatus {
    /// No signature file.
    Unsigned,
    /// Signed, and the signature matches the bytes under the key it carries, but no allowed_signers
    /// file was given to say whether that key is trusted.
    Unchecked { key: String },
    /// Signed by a trusted key.
    Signed(Verified),
    /// A signature that does not hold (or could not be read).
    Bad(String),
}

/// Checks the signature file `sig_rel` over the file `signed_rel`, both read beneath `dir` as a
/// closed world (never through a link, regular files only, bounded).
pub fn check_file(
    dir: &ClosedDir,
    signed_rel: &str,
    sig_rel: &str,
    namespace: &str,
    allowed: Option<&AllowedSigners>,
) -> SigStatus {
    let armored = match dir.read(sig_rel, SIG_LIMIT) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return SigStatus::Unsigned,
        Err(e) => return SigStatus::Bad(e.to_string()),
    };
    let signed = match dir.read(signed_rel, crate::limits::MAX_MANIFEST_BYTES) {
        Ok(b) => b,
        Err(e) => return SigStatus::Bad(e.to_string()),
    };
    let outcome = match allowed {
        Some(allowed) => verify(allowed, namespace, &signed, &armored).map(SigStatus::Signed),
        None => check_self_consistent(namespace, &signed, &armored)
            .map(|key| SigStatus::Unchecked { key }),
    };
    outcome.unwrap_or_else(|p| SigStatus::Bad(format!("{sig_rel}: {p}")))
}

/// The signature in `armored`, if it is one for `namespace`, and its key described.
fn parse(namespace: &str, armored: &[u8]) -> Result<(SshSig, String), SigProblem> {
    let sig = SshSig::from_pem(armored).map_err(|e| SigProblem::Malformed(e.to_string()))?;
    if sig.namespace() != namespace {
        return Err(SigProblem::WrongNamespace {
            expected: namespace.to_string(),
            found: sig.namespace().to_string(),
        });
    }
    let key = describe_key(sig.public_key());
    Ok((sig, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::{rand_core::OsRng, Algorithm, PrivateKey};

    fn allowed_for(key: &PrivateKey, principal: &str, options: &str) -> AllowedSigners {
        let line = format!(
            "{principal} {options} {}\n",
            key.public_key().to_openssh().unwrap()
        );
        AllowedSigners::parse(&line, "allowed_signers").unwrap()
    }

    #[test]
    fn a_signature_names_its_signer_and_fails_on_any_change() {
        let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
        let signer = Signer::from_private(key.clone());
        let armored = sign(&signer, PACK_NAMESPACE, b"manifest bytes").unwrap();
        assert!(armored.starts_with("-----BEGIN SSH SIGNATURE-----"));
        let allowed = allowed_for(&key, "tenant@example.com", "");
        let ok = verify(
            &allowed,
            PACK_NAMESPACE,
            b"manifest bytes",
            armored.as_bytes(),
        )
        .unwrap();
        assert_eq!(ok.principals, ["tenant@example.com"]);
        assert!(ok.key.starts_with("ED25519 SHA256:"), "{}", ok.key);

        let changed = verify(
            &allowed,
            PACK_NAMESPACE,
            b"manifest bytez",
            armored.as_bytes(),
        );
        assert!(matches!(changed, Err(SigProblem::BadSignature { .. })));
        let other_ns = verify(
            &allowed,
            ASSESSMENT_NAMESPACE,
            b"manifest bytes",
            armored.as_bytes(),
        );
        assert!(matches!(other_ns, Err(SigProblem::WrongNamespace { .. })));

        let stranger = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
        let wrong = verify(
            &allowed_for(&stranger, "x@y", ""),
            PACK_NAMESPACE,
            b"manifest bytes",
            armored.as_bytes(),
        )
        .unwrap_err();
        assert!(
            wrong.to_string().contains("is not in allowed_signers"),
            "{wrong}"
        );
    }

    #[test]
    fn a_key_restricted_to_another_namespace_is_not_trusted_for_this_one() {
        let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
        let signer = Signer::from_private(key.clone());
        let armored = sign(&signer, PACK_NAMESPACE, b"m").unwrap();
        let allowed = allowed_for(&key, "a@b", "namespaces=\"dengbao-assessment\"");
        let e = verify(&allowed, PACK_NAMESPACE, b"m", armored.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("namespace"), "{e}");
        let allowed = allowed_for(&key, "a@b", "namespaces=\"dengbao-*\"");
        assert!(verify(&allowed, PACK_NAMESPACE, b"m", armored.as_bytes()).is_ok());
    }

    #[test]
    fn garbage_is_not_a_signature() {
        let e = check_self_consistent(PACK_NAMESPACE, b"m", b"hello").unwrap_err();
        assert!(matches!(e, SigProblem::Malformed(_)));
    }
}
