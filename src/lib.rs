//! dengbao — evidence collection and offline judgement for MLPS 2.0 (等级保护 2.0, GB/T 22239-2019)
//! Level 3 cloud-computing extension requirements.
//!
//! Data flows one way: **collect → evidence pack → evaluate → report**.
//!
//! * [`pack`] is the contract between collecting and judging: raw API responses, content-addressed,
//!   with a manifest saying what was asked, where, when and by which probe.
//! * [`convert`] turns raw response bytes into the JSON documents rules read, by one documented
//!   conversion, so a pack evaluates the same offline as during the live scan.
//! * [`catalog`] holds the framework's test items; [`rules`] holds the rule language and mappings;
//!   [`engine`] evaluates a pack against them and produces [`results`].
//! * [`report`] renders results for people and machines: HTML, XLSX, CSV, Markdown and OCSF.
//! * [`sinks`] delivers the OCSF findings to SIEMs (syslog, Splunk HEC, webhooks) through a durable spool.

pub mod aliyun;
pub mod app;
pub mod assess;
pub mod aws;
pub mod catalog;
pub mod cli;
pub mod collect;
pub mod convert;
pub mod drift;
pub mod embedded;
pub mod engine;
pub mod exceptions;
pub mod exit;
pub mod fail_on;
pub mod heap;
pub mod history;
pub mod jsonpath;
pub mod limits;
pub mod out_dir;
pub mod pack;
pub mod probes;
pub mod providers;
pub mod report;
pub mod results;
pub mod rules;
pub mod scope;
pub mod sign;
pub mod sinks;
pub mod verdict;
