//! S3 (REST-XML). Per-bucket calls are sent to the bucket's own region (the scheduler picks the client).

use super::{failure, Call, CallFuture, PageResult};

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
    let o = c
        .clients
        .s3
        .list_buckets()
        .set_continuation_token(c.token)
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(o.continuation_token)
}

async fn get_bucket_location(c: Call) -> PageResult {
    c.clients
        .s3
        .get_bucket_location()
        .bucket(c.key())
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn get_bucket_encryption(c: Call) -> PageResult {
    c.clients
        .s3
        .get_bucket_encryption()
        .bucket(c.key())
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn get_bucket_replication(c: Call) -> PageResult {
    c.clients
        .s3
        .get_bucket_replication()
        .bucket(c.key())
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn get_bucket_lifecycle_configuration(c: Call) -> PageResult {
    c.clients
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(c.key())
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}

async fn get_public_access_block(c: Call) -> PageResult {
    c.clients
        .s3
        .get_public_access_block()
        .bucket(c.key())
        .customize()
        .interceptor(c.rec)
        .send()
        .await
        .map_err(failure)?;
    Ok(None)
}
