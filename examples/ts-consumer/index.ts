// The example consumer's storefront in TypeScript, through the SDK generated from Keelson's schema.
// Stack config `shop:renderDir` renders the manifests to a folder instead of deploying them, as
// the `dev` stack does; left empty (the default), the current kubeconfig context is deployed to.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as keelson from "@keelson/keelson";

const config = new pulumi.Config("shop");
const provider = new k8s.Provider("kubernetes", {
    renderYamlToDirectory: config.get("renderDir") || undefined,
});

const shop = new keelson.GovernedNamespace("shop", { name: "shop" }, { providers: [provider] });

const storefront = new keelson.HardenedApp(
    "storefront",
    {
        image: "ghcr.io/stefanprodan/podinfo:6.7.1",
        namespace: "shop",
        args: ["./podinfo", "--port=8000"],
        resources: {
            requests: { cpu: "100m", memory: "128Mi" },
            limits: { cpu: "400m", memory: "256Mi" },
        },
        autoscaling: { minReplicas: 2, maxReplicas: 4 },
        ingress: { host: "shop.example.com" },
        generatedSecrets: ["SESSION_SECRET"],
    },
    { providers: [provider], dependsOn: [shop] },
);

export const namespace = shop.name;
export const url = storefront.url;
export const internalUrl = storefront.internalUrl;
