//! The table's DynamoDB Stream read as Lambda's event source mapping reads it: DescribeStream,
//! GetShardIterator (TRIM_HORIZON), GetRecords, over moto's DynamoDB Streams wire API. The records
//! come back as the Lambda event carries them (the GetRecords record plus its `eventSourceARN`).
use serde_json::{Value, json};

pub struct StreamReader {
    http: reqwest::Client,
    endpoint: String,
    stream_arn: String,
    /// The next iterator of each shard.
    iterators: Vec<String>,
}

impl StreamReader {
    /// Opens the stream of `table` at its oldest record.
    pub async fn open(dynamo: &aws_sdk_dynamodb::Client, table: &str) -> Self {
        let described = dynamo
            .describe_table()
            .table_name(table)
            .send()
            .await
            .expect("DescribeTable");
        let stream_arn = described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .expect("the table has a stream")
            .to_owned();
        let mut reader = Self {
            http: reqwest::Client::new(),
            endpoint: std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL (moto)"),
            stream_arn,
            iterators: Vec::new(),
        };
        let stream = reader
            .call("DescribeStream", json!({"StreamArn": reader.stream_arn}))
            .await;
        let shards = stream["StreamDescription"]["Shards"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for shard in shards {
            let iterator = reader
                .call(
                    "GetShardIterator",
                    json!({"StreamArn": reader.stream_arn, "ShardId": shard["ShardId"], "ShardIteratorType": "TRIM_HORIZON"}),
                )
                .await;
            reader.iterators.push(
                iterator["ShardIterator"]
                    .as_str()
                    .expect("iterator")
                    .to_owned(),
            );
        }
        reader
    }

    /// The records written since the last read, oldest first, as Lambda delivers them.
    pub async fn read(&mut self) -> Vec<Value> {
        let mut records = Vec::new();
        for i in 0..self.iterators.len() {
            let answer = self
                .call("GetRecords", json!({"ShardIterator": self.iterators[i]}))
                .await;
            for mut record in answer["Records"].as_array().cloned().unwrap_or_default() {
                record["eventSourceARN"] = json!(self.stream_arn);
                records.push(record);
            }
            // A closed shard has no next iterator: it is read to its end.
            self.iterators[i] = answer["NextShardIterator"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_default();
        }
        self.iterators.retain(|i| !i.is_empty());
        records
    }

    async fn call(&self, operation: &str, body: Value) -> Value {
        let answer = self
            .http
            .post(&self.endpoint)
            .header("content-type", "application/x-amz-json-1.0")
            .header(
                "x-amz-target",
                format!("DynamoDBStreams_20120810.{operation}"),
            )
            // moto picks the service from the credential scope; it does not check the signature.
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20261201/us-east-1/dynamodb/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .body(body.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{operation}: {e}"));
        let status = answer.status();
        let text = answer.text().await.expect("stream answer");
        assert!(status.is_success(), "{operation}: {status} {text}");
        serde_json::from_str(&text).expect("stream answer is JSON")
    }
}
