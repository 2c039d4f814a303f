//! The assessors' commands: `sign`, `verify`, `attach`, `judgements import`.

use super::args::DataArgs;
use super::{emit, emit_err, load, EXIT_VERIFY_FAILED};
use crate::assess;
use crate::pack::{self, closed::ClosedDir, MANIFEST_FILE, MANIFEST_SIG_FILE};
use crate::sign::{self, AllowedSigners, SigStatus, Signer};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub(super) struct SignArgs {
    /// The pack directory.
    pack: PathBuf,
    /// An OpenSSH private key file (ed25519, ECDSA, RSA), or a public key (`.pub`) whose private half
    /// the ssh-agent at SSH_AUTH_SOCK holds.
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
    /// For an encrypted private key: a file whose first line is the passphrase.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Sign the assessment layer (PACK/assessment/assessment.json, namespace dengbao-assessment)
    /// instead of the evidence: records the judgements and attachments it covers, then signs.
    #[arg(long)]
    assessment: bool,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args, Debug)]
pub(super) struct AttachArgs {
    /// The pack directory.
    pack: PathBuf,
    /// The test item the file is evidence for (e.g. L3-PES2-01).
    #[arg(long, value_name = "ID")]
    item: String,
    /// The file (a PDF, image, spreadsheet…): a regular file, never a link.
    #[arg(long, value_name = "FILE")]
    file: PathBuf,
    /// What the file shows.
    #[arg(long)]
    note: Option<String>,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args, Debug)]
pub(super) struct VerifyArgs {
    /// The pack directory.
    pack: PathBuf,
    /// OpenSSH allowed_signers file: whose signatures are trusted. Without it, a signature is checked
    /// against the key it carries only, and the pack's origin is not proven.
    #[arg(long, value_name = "FILE")]
    allowed_signers: Option<PathBuf>,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(clap::Subcommand, Debug)]
pub(super) enum JudgementsCommand {
    /// Read the assessor columns of a filled-in 测评记录表 (assessment-record.xlsx) into a judgements
    /// file: PACK/assessment/judgements.toml with --pack, or the file --out names.
    Import {
        /// The workbook (`dengbao report … --format xlsx` wrote it; any spreadsheet program edits it).
        xlsx: PathBuf,
        /// Write PACK/assessment/judgements.toml (and check cited attachments against the pack).
        #[arg(
            long,
            value_name = "DIR",
            required_unless_present = "out",
            conflicts_with = "out"
        )]
        pack: Option<PathBuf>,
        /// Write this file instead.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `dengbao judgements import`.
pub(super) fn judgements(command: JudgementsCommand) -> Result<u8> {
    let JudgementsCommand::Import {
        xlsx,
        pack,
        out,
        data,
    } = command;
    let catalog = load(&data)?.catalog;
    let attached = match &pack {
        Some(p) => {
            let opened = pack::Pack::open(p)?;
            let dir = opened.closed_dir().context("a pack directory")?;
            Some(assess::AssessmentManifest::read(dir)?.map_or_else(Vec::new, |m| m.attachments))
        }
        None => None,
    };
    let list = assess::import::import(&xlsx, &catalog, attached.as_deref())?;
    let text = assess::judgements::to_toml(&list)?;
    let written = match (&pack, &out) {
        (Some(p), _) => {
            assess::write_file(p, assess::JUDGEMENTS, text.as_bytes())?;
            if assess::drop_stale_signature(p)? {
                emit_err("the assessment changed: its signature was removed; sign it again with `dengbao sign PACK --assessment --key KEY`\n");
            }
            p.join(assess::JUDGEMENTS)
        }
        (None, Some(o)) => {
            std::fs::write(o, &text).with_context(|| format!("writing {}", o.display()))?;
            o.clone()
        }
        (None, None) => unreachable!("clap requires --pack or --out"),
    };
    emit(&format!(
        "imported: {} judgement(s) into {}\n",
        list.len(),
        written.display()
    ));
    Ok(0)
}

/// `dengbao sign`.
pub(super) fn sign(a: SignArgs) -> Result<u8> {
    let signer = Signer::load(&a.key, a.passphrase_file.as_deref())?;
    if a.assessment {
        return sign_assessment(&a, &signer);
    }
    let dir = ClosedDir::open(&a.pack).map_err(anyhow::Error::new)?;
    // The pack must verify before anyone vouches for it.
    let report = pack::verify(&a.pack)?;
    if !report.is_ok() {
        for p in &report.problems {
            emit_err(&format!("{p}\n"));
        }
        anyhow::bail!(
            "{}: not signed: the pack has {} problem(s) (`dengbao verify` lists them)",
            a.pack.display(),
            report.problems.len()
        );
    }
    let manifest = dir
        .read(MANIFEST_FILE, crate::limits::MAX_MANIFEST_BYTES)
        .map_err(anyhow::Error::new)?;
    let armored = sign::sign(&signer, sign::PACK_NAMESPACE, &manifest)?;
    let out = a.pack.join(MANIFEST_SIG_FILE);
    write_new(&out, armored.as_bytes())?;
    emit(&format!(
        "signed: {} by {}; check with `dengbao verify {} --allowed-signers FILE`\n",
        out.display(),
        sign::describe_key(signer.public_key()),
        a.pack.display()
    ));
    Ok(0)
}

/// `dengbao sign --assessment`.
fn sign_assessment(a: &SignArgs, signer: &Signer) -> Result<u8> {
    let report = pack::verify(&a.pack)?;
    if !report.is_ok() {
        anyhow::bail!(
            "{}: not signed: the evidence has {} problem(s) (`dengbao verify` lists them)",
            a.pack.display(),
            report.problems.len()
        );
    }
    let loaded = load(&a.data)?;
    let (_, attachments, judged) = assess::verify::seal(&a.pack, &loaded.catalog, signer)?;
    emit(&format!(
        "signed: {} ({judged} judgement(s), {attachments} attachment(s)) by {}\n",
        a.pack.join(assess::SIG).display(),
        sign::describe_key(signer.public_key()),
    ));
    Ok(0)
}

/// `dengbao attach`.
pub(super) fn attach(a: AttachArgs) -> Result<u8> {
    let loaded = load(&a.data)?;
    let done = assess::attach::attach(
        &a.pack,
        &loaded.catalog,
        &a.item,
        &a.file,
        a.note.as_deref(),
    )?;
    let what = format!(
        "{} ({}, {} bytes) for {}",
        done.attachment.name, done.attachment.sha256, done.attachment.size, done.attachment.item
    );
    if done.already {
        emit(&format!("already attached: {what}\n"));
    } else {
        emit(&format!("attached: {what}\n"));
    }
    if done.unsigned {
        emit_err("the assessment changed: its signature was removed; sign it again with `dengbao sign PACK --assessment --key KEY`\n");
    }
    Ok(0)
}

/// Writes `bytes` to `path` through a temporary file renamed into place, so a reader never sees half
/// a signature; an existing link at `path` is replaced, never followed.
fn write_new(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("no parent directory")?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// `dengbao verify`.
pub(super) fn verify(a: VerifyArgs) -> Result<u8> {
    let allowed = a
        .allowed_signers
        .as_deref()
        .map(AllowedSigners::load)
        .transpose()?;
    let report = pack::verify(&a.pack)?;
    let failed = !report.is_ok();
    for p in &report.problems {
        emit(&format!("{p}\n"));
    }
    if report.is_ok() {
        emit(&format!(
            "ok: {} blob(s) intact; manifest {}\n",
            report.blobs_ok, report.manifest_digest
        ));
    }
    let dir = ClosedDir::open(&a.pack).map_err(anyhow::Error::new)?;
    let status = sign::check_file(
        &dir,
        MANIFEST_FILE,
        MANIFEST_SIG_FILE,
        sign::PACK_NAMESPACE,
        allowed.as_ref(),
    );
    let bad_signature = show_signature("evidence", &status, allowed.is_some());
    let mut bad_assessment = false;
    if !report.manifest_digest.is_empty() {
        let catalog = load(&a.data)?.catalog;
        let layer =
            assess::verify::verify(&a.pack, &report.manifest_digest, &catalog, allowed.as_ref())?;
        bad_assessment = show_assessment(&layer, allowed.is_some());
    }
    if failed {
        emit_err(&format!(
            "{} problem(s): this pack is not the evidence that was collected\n",
            report.problems.len()
        ));
    }
    if bad_signature {
        emit_err("the evidence's signature does not hold: who produced this pack, or that it is unchanged since, is not proven\n");
    }
    if bad_assessment {
        emit_err("the assessment does not hold: its files changed since the assessor signed, or its signer is not proven\n");
    }
    if failed || bad_signature || bad_assessment {
        Ok(EXIT_VERIFY_FAILED)
    } else {
        Ok(0)
    }
}

/// Prints what the assessment layer's verification found; true when that is a problem.
fn show_assessment(layer: &assess::verify::AssessmentReport, required: bool) -> bool {
    if !layer.present {
        return false;
    }
    for p in &layer.problems {
        emit(&format!("assessment: {p}\n"));
    }
    if layer.problems.is_empty() {
        emit(&format!(
            "assessment ok: {} attachment(s) intact, {} item(s) judged\n",
            layer.attachments_ok, layer.judged
        ));
        return show_signature("assessment", &layer.signature, required);
    }
    // The signature over assessment.json may hold, but the files it names changed: it does not cover
    // the assessment as it is now.
    let signer = match &layer.signature {
        SigStatus::Signed(v) => format!("by {v} "),
        SigStatus::Unchecked { key } => format!("by {key} "),
        _ => String::new(),
    };
    emit(&format!(
        "bad signature: assessment: the signature {signer}does not cover the assessment as it is now ({} problem(s) above)\n",
        layer.problems.len()
    ));
    true
}

/// Prints what a layer's signature says; true when that is a problem.
fn show_signature(layer: &str, status: &SigStatus, required: bool) -> bool {
    match status {
        SigStatus::Signed(v) => {
            emit(&format!("{layer} signed by: {v}\n"));
            false
        }
        SigStatus::Unchecked { key } => {
            emit(&format!(
                "{layer} signature: matches its key {key}, but who that is was not checked: give --allowed-signers FILE\n"
            ));
            false
        }
        SigStatus::Unsigned if required => {
            emit(&format!("bad signature: {layer}: not signed\n"));
            true
        }
        SigStatus::Unsigned => {
            emit(&format!("{layer}: not signed\n"));
            false
        }
        SigStatus::Bad(why) => {
            emit(&format!("bad signature: {layer}: {why}\n"));
            true
        }
    }
}
