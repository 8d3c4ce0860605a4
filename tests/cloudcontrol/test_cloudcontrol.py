"""boto3 `cloudcontrol` against apigw: the resource_request_success waiter, paginators,
ListResourceRequests filters, error codes as boto3 reads them (`__type`), and every
AWS::ApiGatewayV2 type created through Cloud Control and seen through apigatewayv2."""

import json

import botocore.exceptions
import pytest

INTEGRATION = "AWS::ApiGatewayV2::Integration"
FAST = {"Delay": 1, "MaxAttempts": 5}


def http_api(v2, name="py"):
    return v2.create_api(Name=name, ProtocolType="HTTP")["ApiId"]


def proxy(api):
    return {
        "ApiId": api,
        "IntegrationType": "HTTP_PROXY",
        "IntegrationUri": "https://example.com/{proxy}",
        "IntegrationMethod": "ANY",
        "PayloadFormatVersion": "1.0",
    }


def wait(cc, event):
    cc.get_waiter("resource_request_success").wait(RequestToken=event["RequestToken"], WaiterConfig=FAST)
    return cc.get_resource_request_status(RequestToken=event["RequestToken"])["ProgressEvent"]


def properties(cc, type_name, identifier):
    out = cc.get_resource(TypeName=type_name, Identifier=identifier)
    assert out["TypeName"] == type_name
    assert out["ResourceDescription"]["Identifier"] == identifier
    return json.loads(out["ResourceDescription"]["Properties"])


def create(cc, type_name, desired):
    ev = cc.create_resource(TypeName=type_name, DesiredState=json.dumps(desired))["ProgressEvent"]
    done = wait(cc, ev)
    assert done["OperationStatus"] == "SUCCESS", done
    return done["Identifier"]


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_integration_lifecycle_with_waiter(cc, v2):
    api = http_api(v2)
    ev = cc.create_resource(TypeName=INTEGRATION, DesiredState=json.dumps(proxy(api)), ClientToken="py-create-1")[
        "ProgressEvent"
    ]
    assert ev["Operation"] == "CREATE"
    # EventTime is an epoch-seconds number, parsed by botocore into a datetime.
    assert ev["EventTime"].year >= 2024
    done = wait(cc, ev)
    assert done["OperationStatus"] == "SUCCESS"
    identifier = done["Identifier"]
    assert identifier.startswith(api + "|")
    props = properties(cc, INTEGRATION, identifier)
    assert props["TimeoutInMillis"] == 30000
    integration_id = identifier.split("|")[1]
    assert v2.get_integration(ApiId=api, IntegrationId=integration_id)["IntegrationUri"] == "https://example.com/{proxy}"

    patch = [{"op": "replace", "path": "/TimeoutInMillis", "value": 1000}]
    ev = cc.update_resource(TypeName=INTEGRATION, Identifier=identifier, PatchDocument=json.dumps(patch))[
        "ProgressEvent"
    ]
    assert wait(cc, ev)["Operation"] == "UPDATE"
    assert v2.get_integration(ApiId=api, IntegrationId=integration_id)["TimeoutInMillis"] == 1000

    ev = cc.delete_resource(TypeName=INTEGRATION, Identifier=identifier)["ProgressEvent"]
    assert wait(cc, ev)["Operation"] == "DELETE"
    with pytest.raises(cc.exceptions.ResourceNotFoundException):
        cc.get_resource(TypeName=INTEGRATION, Identifier=identifier)


def test_waiter_stops_on_failed(cc, v2):
    api = http_api(v2)
    ev = cc.create_resource(TypeName=INTEGRATION, DesiredState=json.dumps({"ApiId": api, "IntegrationType": "MOCK"}))[
        "ProgressEvent"
    ]
    assert ev["OperationStatus"] == "FAILED"
    assert ev["ErrorCode"] == "InvalidRequest"
    with pytest.raises(botocore.exceptions.WaiterError) as e:
        cc.get_waiter("resource_request_success").wait(RequestToken=ev["RequestToken"], WaiterConfig=FAST)
    assert "failure state" in str(e.value)


def test_client_token_idempotency_and_conflict(cc, v2):
    api = http_api(v2)
    first = cc.create_resource(TypeName=INTEGRATION, DesiredState=json.dumps(proxy(api)), ClientToken="tok-1")
    again = cc.create_resource(TypeName=INTEGRATION, DesiredState=json.dumps(proxy(api)), ClientToken="tok-1")
    assert first["ProgressEvent"]["RequestToken"] == again["ProgressEvent"]["RequestToken"]
    assert len(v2.get_integrations(ApiId=api)["Items"]) == 1
    changed = dict(proxy(api), Description="other")
    with pytest.raises(cc.exceptions.ClientTokenConflictException) as e:
        cc.create_resource(TypeName=INTEGRATION, DesiredState=json.dumps(changed), ClientToken="tok-1")
    assert error_code(e) == "ClientTokenConflictException"
    # The same token on a different operation conflicts too.
    with pytest.raises(cc.exceptions.ClientTokenConflictException):
        cc.delete_resource(TypeName=INTEGRATION, Identifier=first["ProgressEvent"]["Identifier"], ClientToken="tok-1")


def test_error_types_seen_by_boto3(cc, v2):
    with pytest.raises(cc.exceptions.TypeNotFoundException) as e:
        cc.get_resource(TypeName="AWS::ApiGatewayV2::VpcLink", Identifier="a")
    assert error_code(e) == "TypeNotFoundException"
    with pytest.raises(cc.exceptions.ResourceNotFoundException):
        cc.get_resource(TypeName=INTEGRATION, Identifier="nosuchapi0|nosuchi")
    with pytest.raises(cc.exceptions.RequestTokenNotFoundException):
        cc.get_resource_request_status(RequestToken="no-such-token")
    with pytest.raises(cc.exceptions.InvalidRequestException) as e:
        cc.list_resources(TypeName=INTEGRATION)
    assert "required key [ApiId] not found" in e.value.response["Error"]["Message"]
    api = http_api(v2)
    ev = cc.create_resource(TypeName=INTEGRATION, DesiredState=json.dumps(proxy(api)))["ProgressEvent"]
    with pytest.raises(cc.exceptions.ConcurrentModificationException):
        cc.cancel_resource_request(RequestToken=ev["RequestToken"])


def test_list_resource_requests_filters_and_pages(cc, v2):
    api = http_api(v2)
    made = [create(cc, INTEGRATION, proxy(api)) for _ in range(3)]
    cc.delete_resource(TypeName=INTEGRATION, Identifier=made[0])
    failed_delete = cc.delete_resource(TypeName=INTEGRATION, Identifier=made[0])["ProgressEvent"]
    assert failed_delete["ErrorCode"] == "NotFound"

    def summaries(**kw):
        pages = cc.get_paginator("list_resource_requests").paginate(PaginationConfig={"PageSize": 2}, **kw)
        return [s for p in pages for s in p["ResourceRequestStatusSummaries"]]

    everything = summaries()
    assert len(everything) == 5
    assert len({s["RequestToken"] for s in everything}) == 5
    creates = summaries(ResourceRequestStatusFilter={"Operations": ["CREATE"]})
    assert [s["Operation"] for s in creates] == ["CREATE"] * 3
    failed = summaries(ResourceRequestStatusFilter={"Operations": ["DELETE"], "OperationStatuses": ["FAILED"]})
    assert [s["RequestToken"] for s in failed] == [failed_delete["RequestToken"]]
    assert summaries(ResourceRequestStatusFilter={"OperationStatuses": ["IN_PROGRESS"]}) == []


def test_list_resources_paginates(cc, v2):
    api = http_api(v2)
    made = sorted(create(cc, INTEGRATION, proxy(api)) for _ in range(3))
    pages = cc.get_paginator("list_resources").paginate(
        TypeName=INTEGRATION, ResourceModel=json.dumps({"ApiId": api}), PaginationConfig={"PageSize": 2}
    )
    seen = [d["Identifier"] for p in pages for d in p["ResourceDescriptions"]]
    assert sorted(seen) == made


def test_every_type_through_cloud_control(cc, v2):
    # HTTP: Api → Integration → Route → Deployment → Stage.
    api = create(cc, "AWS::ApiGatewayV2::Api", {"Name": "all", "ProtocolType": "HTTP"})
    assert v2.get_api(ApiId=api)["Name"] == "all"
    integration = create(cc, INTEGRATION, proxy(api)).split("|")[1]
    route = create(
        cc,
        "AWS::ApiGatewayV2::Route",
        {"ApiId": api, "RouteKey": "GET /pets", "Target": f"integrations/{integration}"},
    )
    assert v2.get_route(ApiId=api, RouteId=route.split("|")[1])["RouteKey"] == "GET /pets"
    deployment = create(cc, "AWS::ApiGatewayV2::Deployment", {"ApiId": api, "Description": "d1"})
    stage = create(
        cc,
        "AWS::ApiGatewayV2::Stage",
        {
            "ApiId": api,
            "StageName": "prod",
            "DeploymentId": deployment.split("|")[1],
            "RouteSettings": {"GET /pets": {"ThrottlingRateLimit": 5.0}},
        },
    )
    assert stage == f"{api}|prod"
    got = v2.get_stage(ApiId=api, StageName="prod")
    assert got["RouteSettings"]["GET /pets"]["ThrottlingRateLimit"] == 5.0
    assert properties(cc, "AWS::ApiGatewayV2::Stage", stage)["RouteSettings"] == {
        "GET /pets": {"ThrottlingRateLimit": 5.0}
    }
    with pytest.raises(cc.exceptions.InvalidRequestException):
        cc.list_resources(TypeName="AWS::ApiGatewayV2::Stage")
    listed = cc.list_resources(TypeName="AWS::ApiGatewayV2::Stage", ResourceModel=json.dumps({"ApiId": api}))
    assert [d["Identifier"] for d in listed["ResourceDescriptions"]] == [stage]

    # WebSocket: IntegrationResponse and RouteResponse (three-part identifiers).
    ws = create(
        cc,
        "AWS::ApiGatewayV2::Api",
        {"Name": "ws", "ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"},
    )
    mock = create(cc, INTEGRATION, {"ApiId": ws, "IntegrationType": "MOCK"}).split("|")[1]
    ir = create(
        cc,
        "AWS::ApiGatewayV2::IntegrationResponse",
        {"ApiId": ws, "IntegrationId": mock, "IntegrationResponseKey": "$default"},
    )
    assert ir.startswith(f"{ws}|{mock}|")
    ws_route = create(cc, "AWS::ApiGatewayV2::Route", {"ApiId": ws, "RouteKey": "$connect"}).split("|")[1]
    rr = create(
        cc,
        "AWS::ApiGatewayV2::RouteResponse",
        {"ApiId": ws, "RouteId": ws_route, "RouteResponseKey": "$default"},
    )
    rr_id = rr.split("|")[2]
    assert v2.get_route_response(ApiId=ws, RouteId=ws_route, RouteResponseId=rr_id)["RouteResponseKey"] == "$default"
    json_id = json.dumps({"ApiId": ws, "RouteId": ws_route, "RouteResponseId": rr_id})
    assert cc.get_resource(TypeName="AWS::ApiGatewayV2::RouteResponse", Identifier=json_id)[
        "ResourceDescription"
    ]["Identifier"] == rr

    # Deleting the API through Cloud Control takes its children with it.
    ev = cc.delete_resource(TypeName="AWS::ApiGatewayV2::Api", Identifier=ws)["ProgressEvent"]
    assert wait(cc, ev)["OperationStatus"] == "SUCCESS"
    with pytest.raises(v2.exceptions.NotFoundException):
        v2.get_api(ApiId=ws)
    with pytest.raises(cc.exceptions.ResourceNotFoundException):
        cc.get_resource(TypeName="AWS::ApiGatewayV2::RouteResponse", Identifier=rr)


def test_update_not_updatable_and_readonly(cc, v2):
    api = http_api(v2)
    identifier = create(cc, INTEGRATION, proxy(api))
    ev = cc.update_resource(
        TypeName=INTEGRATION,
        Identifier=identifier,
        PatchDocument=json.dumps([{"op": "replace", "path": "/ApiId", "value": "x"}]),
    )["ProgressEvent"]
    assert (ev["OperationStatus"], ev["ErrorCode"]) == ("FAILED", "NotUpdatable")
    ev = cc.update_resource(
        TypeName=INTEGRATION,
        Identifier=identifier,
        PatchDocument=json.dumps([{"op": "test", "path": "/IntegrationType", "value": "AWS"}]),
    )["ProgressEvent"]
    assert (ev["OperationStatus"], ev["ErrorCode"]) == ("FAILED", "InvalidRequest")


AUTHORIZER = "AWS::ApiGatewayV2::Authorizer"
AUTHORIZER_URI = (
    "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:us-east-1:000000000000:function:auth/invocations"
)


def test_authorizer_create_read_update_delete_list(cc, v2):
    api = http_api(v2, "authz")
    ident = create(
        cc,
        AUTHORIZER,
        {
            "ApiId": api,
            "Name": "jwt",
            "AuthorizerType": "JWT",
            "IdentitySource": ["$request.header.Authorization"],
            "JwtConfiguration": {"Audience": ["client"], "Issuer": "https://issuer.example.com"},
        },
    )
    # The primary identifier is AuthorizerId then ApiId.
    authorizer_id, api_part = ident.split("|")
    assert api_part == api
    props = properties(cc, AUTHORIZER, ident)
    assert props == {
        "ApiId": api,
        "AuthorizerId": authorizer_id,
        "Name": "jwt",
        "AuthorizerType": "JWT",
        "IdentitySource": ["$request.header.Authorization"],
        "JwtConfiguration": {"Audience": ["client"], "Issuer": "https://issuer.example.com"},
    }
    # Seen through apigatewayv2.
    got = v2.get_authorizer(ApiId=api, AuthorizerId=authorizer_id)
    assert got["JwtConfiguration"]["Issuer"] == "https://issuer.example.com"
    # JSON form of the identifier, in any order.
    assert properties(cc, AUTHORIZER, ident)["Name"] == "jwt"
    out = cc.get_resource(TypeName=AUTHORIZER, Identifier=json.dumps({"ApiId": api, "AuthorizerId": authorizer_id}))
    assert out["ResourceDescription"]["Identifier"] == ident

    # Update (JSON Patch), then the apigatewayv2 view follows.
    ev = cc.update_resource(
        TypeName=AUTHORIZER,
        Identifier=ident,
        PatchDocument=json.dumps(
            [
                {"op": "replace", "path": "/Name", "value": "renamed"},
                {"op": "replace", "path": "/JwtConfiguration/Audience", "value": ["a", "b"]},
            ]
        ),
    )["ProgressEvent"]
    assert wait(cc, ev)["OperationStatus"] == "SUCCESS"
    got = v2.get_authorizer(ApiId=api, AuthorizerId=authorizer_id)
    assert got["Name"] == "renamed"
    assert got["JwtConfiguration"]["Audience"] == ["a", "b"]
    # ApiId is create-only.
    ev = cc.update_resource(
        TypeName=AUTHORIZER,
        Identifier=ident,
        PatchDocument=json.dumps([{"op": "replace", "path": "/ApiId", "value": "other"}]),
    )["ProgressEvent"]
    assert ev["OperationStatus"] == "FAILED" and ev["ErrorCode"] == "NotUpdatable", ev

    # A Lambda authorizer: its write-only members are accepted and never read back.
    lam = create(
        cc,
        AUTHORIZER,
        {
            "ApiId": api,
            "Name": "lambda",
            "AuthorizerType": "REQUEST",
            "AuthorizerUri": AUTHORIZER_URI,
            "AuthorizerPayloadFormatVersion": "2.0",
            "EnableSimpleResponses": True,
            "AuthorizerResultTtlInSeconds": 60,
            "IdentitySource": ["$request.header.X-Token"],
        },
    )
    props = properties(cc, AUTHORIZER, lam)
    for write_only in ("AuthorizerUri", "AuthorizerPayloadFormatVersion", "EnableSimpleResponses", "AuthorizerResultTtlInSeconds"):
        assert write_only not in props, props
    got = v2.get_authorizer(ApiId=api, AuthorizerId=lam.split("|")[0])
    assert got["AuthorizerUri"] == AUTHORIZER_URI and got["EnableSimpleResponses"] is True

    # A desired state breaking a rule fails with InvalidRequest and the apigatewayv2 message.
    ev = cc.create_resource(
        TypeName=AUTHORIZER,
        DesiredState=json.dumps({"ApiId": api, "Name": "bad", "AuthorizerType": "REQUEST", "AuthorizerUri": AUTHORIZER_URI}),
    )["ProgressEvent"]
    done = cc.get_resource_request_status(RequestToken=ev["RequestToken"])["ProgressEvent"]
    assert done["OperationStatus"] == "FAILED" and done["ErrorCode"] == "InvalidRequest", done
    assert "AuthorizerPayloadFormatVersion is a required parameter" in done["StatusMessage"]

    # List needs the ApiId.
    listed = cc.list_resources(TypeName=AUTHORIZER, ResourceModel=json.dumps({"ApiId": api}))
    assert sorted(d["Identifier"] for d in listed["ResourceDescriptions"]) == sorted([ident, lam])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cc.list_resources(TypeName=AUTHORIZER)
    assert error_code(e) == "InvalidRequestException"

    # Delete of an authorizer a route uses: ResourceConflict; then after detaching, SUCCESS.
    route = v2.create_route(ApiId=api, RouteKey="GET /x", AuthorizationType="JWT", AuthorizerId=authorizer_id)
    ev = cc.delete_resource(TypeName=AUTHORIZER, Identifier=ident)["ProgressEvent"]
    done = cc.get_resource_request_status(RequestToken=ev["RequestToken"])["ProgressEvent"]
    assert done["OperationStatus"] == "FAILED" and done["ErrorCode"] == "ResourceConflict", done
    v2.update_route(ApiId=api, RouteId=route["RouteId"], AuthorizationType="NONE")
    for i in (ident, lam):
        ev = cc.delete_resource(TypeName=AUTHORIZER, Identifier=i)["ProgressEvent"]
        assert wait(cc, ev)["OperationStatus"] == "SUCCESS"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cc.get_resource(TypeName=AUTHORIZER, Identifier=ident)
    assert error_code(e) == "ResourceNotFoundException"
    assert v2.get_authorizers(ApiId=api)["Items"] == []
