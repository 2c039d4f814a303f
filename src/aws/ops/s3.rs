//! S3 (REST-XML). Per-bucket calls fan out over GetBucketLocation and go to the bucket's own region
//! (`home_region` in the manifest; [`crate::aws::s3_location_region`] reads the answer).

use super::{send, Call, CallFuture, PageResult};

pub fn function(probe: &str) -> Option<fn(Call) -> CallFuture> {
    Some(match probe {
        "aws.s3.list_buckets" => |c| Box::pin(list_buckets(c)),
        "aws.s3.get_bucket_location" => |c| Box::pin(get_bucket_location(c)),
        "aws.s3.get_bucket_encryption" => |c| Box::pin(get_bucket_encryption(c)),
        "aws.s3.get_bucket_replication" => |c| Box::pin(get_bucket_replication(c)),
        "aws.s3.get_bucket_lifecycle_configuration" => {
            |c| Box::pin(get_bucket_lifecycle_configuration(c))
        }
        "aws.s3.get_public_access_block" => |c| Box::pin(get_public_access_block(c)),
        _ => return None,
    })
}

async fn list_buckets(c: Call) -> PageResult {
    let req = c
        .clients
        .s3
        .list_buckets()
        .set_continuation_token(c.token());
    Ok(send!(c, req).continuation_token)
}

/// A per-bucket read: the bucket is the fan-out key, nothing else is asked.
macro_rules! per_bucket {
    ($($op:ident),+ $(,)?) => {$(
        async fn $op(c: Call) -> PageResult {
            send!(c, c.clients.s3.$op().bucket(c.key()));
            Ok(None)
        }
    )+};
}

per_bucket!(
    get_bucket_location,
    get_bucket_encryption,
    get_bucket_replication,
    get_bucket_lifecycle_configuration,
    get_public_access_block,
);
