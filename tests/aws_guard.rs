//! The read-only guard refuses every mutating call before it is signed or sent.
//!
//! The endpoint is a local TCP listener that counts connections: a refused call must never reach it,
//! while an allowed read call does (which proves the listener would have seen a leak).

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn listener() -> (String, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            h.fetch_add(1, Ordering::SeqCst);
            drop(conn); // hang up: the SDK sees a connection error
        }
    });
    (url, hits)
}

fn config(endpoint: &str) -> aws_types::SdkConfig {
    aws_types::SdkConfig::builder()
        .region(aws_types::region::Region::new("cn-north-1"))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        )))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .build()
}

fn guard() -> dengbao::aws::ReadOnlyGuard {
    let loaded = dengbao::app::load(None, None, "mlps2-l3-cloud").unwrap();
    dengbao::aws::guard_for(&dengbao::aws::aws_probes(&loaded.probes).unwrap())
}

fn refused(e: impl std::error::Error) -> bool {
    aws_smithy_types::error::display::DisplayErrorContext(&e)
        .to_string()
        .contains("read-only guard refused")
}

/// A client of `$krate` for `$conf` carrying the guard `$g`.
macro_rules! guarded {
    ($krate:ident, $conf:expr, $g:expr) => {
        $krate::Client::from_conf(
            $krate::config::Builder::from($conf)
                .interceptor($g.clone())
                .build(),
        )
    };
}

#[tokio::test]
async fn mutating_calls_never_leave_the_process() {
    let (url, hits) = listener();
    let conf = config(&url);
    let g = guard();
    let ec2 = guarded!(aws_sdk_ec2, &conf, g);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .interceptor(g.clone())
            .force_path_style(true)
            .build(),
    );
    let kms = guarded!(aws_sdk_kms, &conf, g);
    let iam = guarded!(aws_sdk_iam, &conf, g);
    let ct = guarded!(aws_sdk_cloudtrail, &conf, g);
    let backup = guarded!(aws_sdk_backup, &conf, g);
    let analyzer = guarded!(aws_sdk_accessanalyzer, &conf, g);

    assert!(refused(
        ec2.create_vpc()
            .cidr_block("10.0.0.0/16")
            .send()
            .await
            .unwrap_err()
    ));
    assert!(refused(
        ec2.delete_vpc().vpc_id("vpc-1").send().await.unwrap_err()
    ));
    assert!(refused(
        ec2.modify_snapshot_attribute()
            .snapshot_id("snap-1")
            .send()
            .await
            .unwrap_err()
    ));
    assert!(refused(
        ec2.run_instances()
            .image_id("ami-1")
            .min_count(1)
            .max_count(1)
            .send()
            .await
            .unwrap_err()
    ));
    assert!(refused(
        s3.put_bucket_policy()
            .bucket("b")
            .policy("{}")
            .send()
            .await
            .unwrap_err()
    ));
    assert!(refused(
        s3.delete_bucket().bucket("b").send().await.unwrap_err()
    ));
    assert!(refused(
        kms.schedule_key_deletion()
            .key_id("k")
            .send()
            .await
            .unwrap_err()
    ));
    assert!(refused(
        iam.create_user().user_name("x").send().await.unwrap_err()
    ));
    assert!(refused(
        ct.stop_logging().name("t").send().await.unwrap_err()
    ));
    // AWS Backup and IAM Access Analyzer: deleting backups, starting jobs, turning an analyzer off or
    // archiving its findings never leave the process.
    assert!(refused(
        backup
            .delete_recovery_point()
            .backup_vault_name("Default")
            .recovery_point_arn("arn:aws-cn:ec2:cn-north-1::snapshot/snap-1")
            .send()
            .await
            .unwrap_err()
    ));
    assert!(refused(
        backup
            .delete_backup_vault()
            .backup_vault_name("Default")
            .send()
            .await
            .unwrap_err()
    ));
    assert!(refused(
        backup
            .start_copy_job()
            .recovery_point_arn("arn:aws-cn:ec2:cn-north-1::snapshot/snap-1")
            .source_backup_vault_name("Default")
            .destination_backup_vault_arn("arn:aws:backup:us-east-1:1:backup-vault:x")
            .iam_role_arn("arn:aws-cn:iam::1:role/r")
            .send()
            .await
            .unwrap_err()
    ));
    assert!(refused(
        analyzer
            .delete_analyzer()
            .analyzer_name("account")
            .send()
            .await
            .unwrap_err()
    ));
    assert!(refused(
        analyzer
            .update_findings()
            .analyzer_arn("arn:aws-cn:access-analyzer:cn-north-1:1:analyzer/account")
            .status(aws_sdk_accessanalyzer::types::FindingStatusUpdate::Archived)
            .ids("f-1")
            .send()
            .await
            .unwrap_err()
    ));
    // A read operation no probe declares is refused too: the allow-list is exact.
    assert!(refused(ec2.describe_key_pairs().send().await.unwrap_err()));
    assert!(refused(
        backup
            .describe_recovery_point()
            .backup_vault_name("Default")
            .recovery_point_arn("arn:aws-cn:ec2:cn-north-1::snapshot/snap-1")
            .send()
            .await
            .unwrap_err()
    ));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "a refused call reached the network"
    );

    // A declared read goes out (and fails only because this endpoint hangs up).
    let e = ec2.describe_vpcs().send().await.unwrap_err();
    assert!(!refused(e));
    let e = backup.list_backup_vaults().send().await.unwrap_err();
    assert!(!refused(e));
    let e = analyzer.list_analyzers().send().await.unwrap_err();
    assert!(!refused(e));
    assert!(
        hits.load(Ordering::SeqCst) >= 1,
        "the allowed call should have reached the endpoint"
    );
}
