(import 'docspace.libsonnet')
