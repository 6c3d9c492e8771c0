//! The table as `infra/template.yaml` declares it, for emulators and development
//! accounts: the same keys and indexes, made by one call.

use crate::aws::errors;
use crate::ports::PortResult;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
};

/// Creates the table (pay per request, `pk`/`sk`, the indexes `gsi1`–`gsi3`, and its
/// change stream with old and new images: the event log's source).
pub async fn create_table(client: &Client, name: &str) -> PortResult<()> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(|e| crate::ports::PortError::Internal(e.to_string()))
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(|e| crate::ports::PortError::Internal(e.to_string()))?,
        );
    for attribute in [
        "pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk",
    ] {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| crate::ports::PortError::Internal(e.to_string()))?,
        );
    }
    for index in ["gsi1", "gsi2", "gsi3"] {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index)
                .key_schema(key(&format!("{index}pk"), KeyType::Hash)?)
                .key_schema(key(&format!("{index}sk"), KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| crate::ports::PortError::Internal(e.to_string()))?,
        );
    }
    request
        .send()
        .await
        .map_err(|e| errors::sdk("dynamodb:CreateTable", e))?;
    Ok(())
}
