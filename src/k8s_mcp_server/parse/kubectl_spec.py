"""kubectl's command tree, classes and flag tables (see flags.py for the table syntax).

Classification choices worth knowing:
- `config view --raw` is CREDENTIAL (it prints the kubeconfig's keys and tokens); plain `config view`
  (kubectl redacts it) and the other `config` reads are LOCAL; `config` writes are WRITE.
- `kustomize` is LOCAL but always records the guarded flag `kustomize`: it reads the server's
  files or fetches a remote base, and can run helm and plugins.
- `edit` is WRITE (it runs the server's $EDITOR, which the executor's environment controls).
- `run` and `debug` are EXEC whatever their flags: they start a container with a chosen image.
- `diff` is READ (a server-side dry run); its `-f` is guarded like every `-f`.
- `alpha ...` is UNKNOWN (never read-only); `certificate approve|deny` and `create token` CREDENTIAL.
"""

from __future__ import annotations

from types import MappingProxyType

from k8s_mcp_server.contracts import CommandClass as C
from k8s_mcp_server.parse.flags import table
from k8s_mcp_server.parse.grammar import ToolSpec

_R, _W, _X, _L, _CR, _U = C.READ, C.WRITE, C.EXEC, C.LOCAL, C.CREDENTIAL, C.UNKNOWN


def _words(text: str) -> list[str]:
    return text.split()


CREATE_SUBS = MappingProxyType(
    {
        "clusterrole": "clusterroles",
        "clusterrolebinding": "clusterrolebindings",
        "configmap": "configmaps",
        "cronjob": "cronjobs",
        "deployment": "deployments",
        "ingress": "ingresses",
        "job": "jobs",
        "namespace": "namespaces",
        "poddisruptionbudget": "poddisruptionbudgets",
        "priorityclass": "priorityclasses",
        "quota": "resourcequotas",
        "role": "roles",
        "rolebinding": "rolebindings",
        "secret docker-registry": "secrets",
        "secret generic": "secrets",
        "secret tls": "secrets",
        "service clusterip": "services",
        "service externalname": "services",
        "service loadbalancer": "services",
        "service nodeport": "services",
        "serviceaccount": "serviceaccounts",
        "token": "serviceaccounts",
    }
)

_VERBS: dict[str, C] = {
    **dict.fromkeys(
        _words(
            "get describe logs events explain api-resources api-versions version cluster-info "
            "cluster-info/dump top/node top/pod auth/can-i auth/whoami diff wait "
            "rollout/status rollout/history apply/view-last-applied"
        ),
        _R,
    ),
    **dict.fromkeys(
        _words(
            "create apply delete edit patch replace scale autoscale label annotate expose drain cordon "
            "uncordon taint set/image set/env set/resources set/selector set/serviceaccount set/subject "
            "rollout/restart rollout/undo rollout/pause rollout/resume auth/reconcile "
            "apply/set-last-applied apply/edit-last-applied config/use-context config/set-context "
            "config/rename-context config/delete-context config/delete-cluster config/delete-user"
        ),
        _W,
    ),
    **dict.fromkeys(_words("exec attach cp port-forward proxy debug run"), _X),
    **dict.fromkeys(
        _words(
            "completion kustomize plugin/list config/view config/get-contexts config/get-clusters "
            "config/get-users config/current-context"
        ),
        _L,
    ),
    **dict.fromkeys(_words("certificate/approve certificate/deny"), _CR),
    "alpha": _U,
}
_VERBS.update({f"create/{sub}": (_CR if sub == "token" else _W) for sub in CREATE_SUBS})
VERBS = MappingProxyType({k.replace("/", " "): v for k, v in _VERBS.items()})

ALIASES = MappingProxyType(
    {
        "config/use": "use-context",
        "create/deploy": "deployment",
        "create/ns": "namespace",
        "create/sa": "serviceaccount",
        "create/cm": "configmap",
        "create/pdb": "poddisruptionbudget",
        "create/pc": "priorityclass",
        "create/resourcequota": "quota",
        "create/svc": "service",
        "create/ing": "ingress",
        "create/cj": "cronjob",
        "set/sa": "serviceaccount",
        "top/nodes": "node",
        "top/no": "node",
        "top/pods": "pod",
        "top/po": "pod",
    }
)

GLOBAL = table(
    "!as= !as-group= !as-uid= !cache-dir= !certificate-authority= !client-certificate= !client-key= "
    "!cluster= !context= disable-compression !insecure-skip-tls-verify !kubeconfig= match-server-version "
    "n|namespace= !password= !profile= !profile-output= request-timeout= !s|server= !tls-server-name= "
    "!token= !user= !username= v|v= !vmodule= !log-file= !log-dir= warnings-as-errors h|help "
    "log-flush-frequency="
)

COMMON = table(
    "A|all-namespaces all allow-missing-template-keys chunk-size= c|container= containers= "
    "!f|filename= !k|kustomize= R|recursive l|selector= field-selector= o|output= template= "
    "show-labels show-kind show-managed-fields L|label-columns= no-headers sort-by= w|watch watch-only "
    "output-watch-events ignore-not-found dry-run? validate? field-manager= force grace-period= "
    "timeout= wait? cascade? now overwrite local list record save-config resource-version= "
    "subresource= server-side force-conflicts prune prune-allowlist= i|stdin t|tty q|quiet "
    "pod-running-timeout= replicas= current-replicas= type= port= target-port= protocol= name= image= "
    "e|env= labels= restart= rm command overrides= privileged image-pull-policy= expose attach "
    "annotations= leave-stdin-open for= types= revision= to-revision= containers= limits= requests= "
    "from= keys= resolve role= clusterrole= group= serviceaccount= min= max= cpu-percent= "
    "external-ip= load-balancer-ip= cluster-ip= session-affinity= override-type= "
    "delete-emptydir-data ignore-daemonsets disable-eviction skip-wait-for-delete-timeout= "
    "pod-selector= api-group= cached namespaced verbs= categories= api-version= client "
    "use-protocol-buffers sum show-capacity no-preserve retries= address= windows-line-endings "
    "output-patch openapi-patch edit concurrency= interactive"
)

VERB_FLAGS = MappingProxyType(
    {
        "get": table("!raw= output-watch-events"),
        "delete": table("!raw= i|interactive"),
        "replace": table("!raw="),
        "create": table(
            "!raw= from-literal= !from-file= !from-env-file= !cert= !key= docker-server= docker-username= "
            "!docker-password= docker-email= append-hash schedule= tcp= clusterip= node-port= "
            "external-name= class= rule= annotation= default-backend= min-available= max-unavailable= "
            "value= global-default description= preemption-policy= hard= scopes= verb= resource= "
            "resource-name= non-resource-url= aggregation-rule= !user= audience= bound-object-kind= "
            "bound-object-name= bound-object-uid= duration="
        ),
        "logs": table(
            "f|follow p|previous tail= since= since-time= timestamps prefix all-containers "
            "max-log-requests= limit-bytes= ignore-errors insecure-skip-tls-verify-backend all-pods"
        ),
        "patch": table("p|patch= !patch-file="),
        "set": table("!user= prefix= c|containers= e|env= !from-file="),
        "proxy": table(
            "p|port= !w|www= P|www-prefix= u|unix-socket= accept-hosts= reject-hosts= accept-paths= "
            "reject-paths= api-prefix= disable-filter keepalive= append-server-path"
        ),
        "debug": table(
            "profile= target= copy-to= replace same-node share-processes set-image= !custom= "
            "arguments-only keep-annotations keep-init-containers keep-labels keep-liveness "
            "keep-readiness keep-startup"
        ),
        "config view": table("!raw minify flatten merge?"),
        "config set-context": table("current !cluster= !user= namespace="),
        "cluster-info dump": table("!output-directory= namespaces= all-namespaces"),
        "auth can-i": table("subresource="),
        "auth reconcile": table("remove-extra-permissions remove-extra-subjects"),
        "kustomize": table(
            "!enable-helm !helm-command= !enable-alpha-plugins !enable-exec load-restrictor= !mount= "
            "network !network-name= !e|env= as-current-user reorder= !o|output= helm-api-versions= "
            "helm-kube-version= enable-managedby-label"
        ),
        "completion": table(""),
        "top": table("containers"),
        "run": table("l|labels= env= !from-file="),
        "expose": table("l|labels="),
        "taint": table(""),
        "events": table("A|all-namespaces"),
    }
)

SPEC = ToolSpec(
    name="kubectl",
    verbs=VERBS,
    aliases=ALIASES,
    global_flags=GLOBAL,
    common_flags=COMMON,
    verb_flags=VERB_FLAGS,
)
