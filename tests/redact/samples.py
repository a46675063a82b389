"""Realistic kubectl outputs used by the golden tests (the secrets in them are made up)."""

from __future__ import annotations

import base64

from k8s_mcp_server.contracts import RawOutput


def raw(stdout: str, stderr: str = "") -> RawOutput:
    return RawOutput(stdout=stdout.encode(), stderr=stderr.encode(), exit_code=0, duration_ms=1.5)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "-----END RSA PRIVATE KEY-----\n"
)
JWT = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6IkFCQyJ9."
    "eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50Iiwic3ViIjoic3lzdGVtOnNlcnZpY2VhY2NvdW50In0."
    "c2lnbmF0dXJlLWJ5dGVzLWhlcmUtMTIzNDU2Nzg5MA"
)
PASSWORD = "hunter2-Sup3rS3cret"

SECRET_YAML = f"""apiVersion: v1
data:
  password: {b64(PASSWORD)}
  username: {b64("admin")}
kind: Secret
metadata:
  creationTimestamp: "2024-05-01T10:00:00Z"
  name: db-credentials
  namespace: default
  resourceVersion: "1234"
  uid: 6f1c2b3d-4e5f-4a6b-9c8d-0123456789ab
type: Opaque
"""

SECRET_JSON = f"""{{
    "apiVersion": "v1",
    "data": {{
        "password": "{b64(PASSWORD)}",
        "username": "{b64("admin")}"
    }},
    "kind": "Secret",
    "metadata": {{
        "name": "db-credentials",
        "namespace": "default"
    }},
    "type": "Opaque"
}}
"""

SECRET_STRINGDATA = f"""apiVersion: v1
kind: Secret
metadata:
  name: app
stringData:
  config.yaml: |
    database:
      password: {PASSWORD}
  api-key: plainvalue-0123456789
type: Opaque
"""

LAST_APPLIED_SECRET = f"""apiVersion: v1
data:
  password: {b64(PASSWORD)}
kind: Secret
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {{"apiVersion":"v1","data":{{"password":"{b64(PASSWORD)}"}},"kind":"Secret","metadata":{{"annotations":{{}},"name":"db","namespace":"default"}},"type":"Opaque"}}
  name: db
  namespace: default
type: Opaque
"""

HELM_RELEASE = f"""apiVersion: v1
data:
  release: {b64(b64("H4sIAAAAAAAC/+x9a3PbOJbod/8KlOtOJakxFYmSH")) * 20}
kind: Secret
metadata:
  labels:
    name: web
    owner: helm
    status: deployed
    version: "1"
  name: sh.helm.release.v1.web.v1
  namespace: default
type: helm.sh/release.v1
"""

DOCKER_JSON = '{"auths":{"registry.example.com":{"username":"bot","password":"' + PASSWORD + '"}}}'

DOCKER_CONFIG = f"""apiVersion: v1
data:
  .dockerconfigjson: {b64(DOCKER_JSON)}
kind: Secret
metadata:
  name: regcred
  namespace: default
type: kubernetes.io/dockerconfigjson
"""

CERT_B64 = b64("-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n")

KUBECONFIG_RAW = f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {CERT_B64}
    server: https://10.0.0.1:6443
  name: prod
contexts:
- context:
    cluster: prod
    user: admin
  name: prod
current-context: prod
kind: Config
preferences: {{}}
users:
- name: admin
  user:
    client-certificate-data: {CERT_B64}
    client-key-data: {b64(PEM)}
- name: bot
  user:
    token: opaque-token-0123456789abcdef
- name: basic
  user:
    password: {PASSWORD}
    username: admin
- name: oidc
  user:
    auth-provider:
      config:
        client-id: kubernetes
        client-secret: oidc-client-secret-value
        id-token: {JWT}
        idp-issuer-url: https://issuer.example.com
        refresh-token: refresh-0123456789abcdef
      name: oidc
- name: cloud
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      env:
      - name: AWS_PROFILE
        value: production-admin
"""

POD_SECRET_ENV = """apiVersion: v1
kind: Pod
metadata:
  name: api
  namespace: default
spec:
  containers:
  - env:
    - name: DATABASE_PASSWORD
      value: pg-Pa55word-xyz
    - name: STRIPE_API_KEY
      value: "sk-not-a-real-one-123"
    - name: LOG_LEVEL
      value: debug
    - name: CERT_FILE
      value: /etc/tls/tls.crt
    - name: DB_PASSWORD_FROM_SECRET
      valueFrom:
        secretKeyRef:
          key: password
          name: db-credentials
    image: registry.example.com/api:1.0
    name: api
"""

PODS_WIDE = (
    "NAME                     READY   STATUS    RESTARTS     AGE   IP            NODE       NOMINATED NODE\n"
    "web-7d4b9c5f6d-2xkqz     1/1     Running   0            3d    10.244.1.17   worker-1   <none>\n"
    "web-7d4b9c5f6d-8vjtn     1/1     Running   2 (5h ago)   3d    10.244.2.9    worker-2   <none>\n"
    "token-refresher-5b7f-x   1/1     Running   0            12d   10.244.1.30   worker-1   <none>\n"
)

API_RESOURCES = (
    "NAME              SHORTNAMES   APIVERSION                 NAMESPACED   KIND\n"
    "bindings                       v1                         true         Binding\n"
    "configmaps        cm           v1                         true         ConfigMap\n"
    "secrets                        v1                         true         Secret\n"
    "serviceaccounts   sa           v1                         true         ServiceAccount\n"
    "tokenreviews                   authentication.k8s.io/v1   false        TokenReview\n"
)

DEPLOY_YAML = """apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    deployment.kubernetes.io/revision: "2"
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{},"name":"web","namespace":"default"},"spec":{"template":{"spec":{"containers":[{"env":[{"name":"LOG_LEVEL","value":"info"}],"image":"nginx:1.25","name":"web"}]}}}}
  creationTimestamp: "2024-05-01T10:00:00Z"
  generation: 2
  name: web
  namespace: default
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      automountServiceAccountToken: false
      containers:
      - env:
        - name: LOG_LEVEL
          value: info
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef:
              key: password
              name: db-credentials
        image: nginx:1.25
        name: web
        volumeMounts:
        - mountPath: /etc/tls
          name: tls
      serviceAccountName: web
      volumes:
      - name: tls
        secret:
          secretName: web-tls-certificate
      - name: kube-api-access
        projected:
          sources:
          - serviceAccountToken:
              expirationSeconds: 3607
              path: token
status:
  availableReplicas: 3
"""

DESCRIBE_SA_TOKEN = f"""Name:         build-robot-secret
Namespace:    default
Labels:       <none>
Annotations:  kubernetes.io/service-account.name: build-robot
              kubernetes.io/service-account.uid: da68f9c6-9d26-11e7-b84e-002dc52800da

Type:  kubernetes.io/service-account-token

Data
====
ca.crt:     1338 bytes
namespace:  7 bytes
token:      {JWT}
"""

LOGS = f"""2024-05-01T10:00:00Z INFO starting server on :8080
2024-05-01T10:00:01Z DEBUG connecting to postgres://app:{PASSWORD}@db.default.svc:5432/app
2024-05-01T10:00:02Z DEBUG outgoing request Authorization: Bearer {JWT}
2024-05-01T10:00:03Z WARN loaded key
{PEM}2024-05-01T10:00:04Z INFO aws key AKIAIOSFODNN7EXAMPLE configured
2024-05-01T10:00:05Z INFO config password={PASSWORD} loaded
"""
