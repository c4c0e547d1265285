// Minimal builders for Grafana dashboard JSON (schemaVersion 39), in plain jsonnet.
// Only what the DocSpace dashboard uses; every panel gets the `$datasource` variable.
{
  datasource:: { type: 'prometheus', uid: '${datasource}' },

  // A Prometheus query. `instant` for tables and "current value" panels.
  target(expr, legend='__auto', refId='A', instant=false, format='time_series'):: {
    datasource: $.datasource,
    editorMode: 'code',
    expr: expr,
    legendFormat: legend,
    refId: refId,
    range: !instant,
    instant: instant,
    format: format,
  },

  thresholds(steps):: {
    mode: 'absolute',
    steps: [{ color: s[0], value: s[1] } for s in steps],
  },

  // Value mapping: { '1': ['UP', 'green'], ... }.
  valueMap(m):: {
    type: 'value',
    options: {
      [k]: { text: m[k][0], color: m[k][1], index: i }
      for i in std.range(0, std.length(std.objectFields(m)) - 1)
      for k in [std.objectFields(m)[i]]
    },
  },

  rangeMap(from, to, text, color, index):: {
    type: 'range',
    options: { from: from, to: to, result: { text: text, color: color, index: index } },
  },

  local base(type, title, description, targets, gridPos, unit, thresholds, mappings, custom, options) = {
    type: type,
    title: title,
    description: description,
    datasource: $.datasource,
    gridPos: gridPos,
    targets: targets,
    fieldConfig: {
      defaults: {
        unit: unit,
        thresholds: $.thresholds(thresholds),
        color: { mode: 'thresholds' },
        mappings: mappings,
        custom: custom,
      },
      overrides: [],
    },
    options: options,
  },

  stat(title, description, targets, gridPos, unit='none', thresholds=[['green', null]], mappings=[], textMode='auto', colorMode='value', graphMode='none'):: base(
    'stat', title, description, targets, gridPos, unit, thresholds, mappings, {}, {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      orientation: 'auto',
      textMode: textMode,
      colorMode: colorMode,
      graphMode: graphMode,
      justifyMode: 'auto',
      wideLayout: true,
      showPercentChange: false,
      percentChangeColorMode: 'standard',
    }
  ),

  timeseries(title, description, targets, gridPos, unit='none', thresholds=[['green', null]], thresholdsStyle='off', min=null, max=null):: base(
    'timeseries', title, description, targets, gridPos, unit, thresholds, [], {
      drawStyle: 'line',
      lineInterpolation: 'linear',
      lineWidth: 1,
      fillOpacity: 0,
      gradientMode: 'none',
      showPoints: 'never',
      pointSize: 4,
      spanNulls: false,
      axisPlacement: 'auto',
      axisLabel: '',
      axisBorderShow: false,
      axisCenteredZero: false,
      axisColorMode: 'text',
      scaleDistribution: { type: 'linear' },
      stacking: { mode: 'none', group: 'A' },
      hideFrom: { legend: false, tooltip: false, viz: false },
      barAlignment: 0,
      insertNulls: false,
      thresholdsStyle: { mode: thresholdsStyle },
    }, {
      legend: { displayMode: 'table', placement: 'right', showLegend: true, calcs: ['lastNotNull', 'max'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    }
  ) + {
    fieldConfig+: {
      defaults+: { color: { mode: 'palette-classic' } }
                 + (if min != null then { min: min } else {})
                 + (if max != null then { max: max } else {}),
    },
  },

  stateTimeline(title, description, targets, gridPos, mappings, thresholds=[['green', null]]):: base(
    'state-timeline', title, description, targets, gridPos, 'none', thresholds, mappings, {
      lineWidth: 0,
      fillOpacity: 80,
      hideFrom: { legend: false, tooltip: false, viz: false },
    }, {
      showValue: 'auto',
      rowHeight: 0.9,
      mergeValues: true,
      alignValue: 'left',
      legend: { displayMode: 'list', placement: 'bottom', showLegend: false, calcs: [] },
      tooltip: { mode: 'single', sort: 'none' },
    }
  ),

  table(title, description, targets, gridPos, transformations, overrides, sortBy):: base(
    'table', title, description, targets, gridPos, 'none', [['green', null]], [], {
      align: 'auto',
      inspect: false,
      cellOptions: { type: 'auto' },
    }, {
      showHeader: true,
      frameIndex: 0,
      cellHeight: 'sm',
      sortBy: sortBy,
    }
  ) + {
    transformations: transformations,
    fieldConfig+: { overrides: overrides },
  },

  row(title, gridPos):: {
    type: 'row',
    title: title,
    collapsed: false,
    gridPos: gridPos,
    panels: [],
  },

  // Field override: match a column by its (display) name and set properties.
  override(name, props):: {
    matcher: { id: 'byName', options: name },
    properties: [{ id: k, value: props[k] } for k in std.objectFields(props)],
  },

  // Numbers panels and rows in order: Grafana wants unique ids.
  withIds(panels):: [
    panels[i] { id: i + 1 }
    for i in std.range(0, std.length(panels) - 1)
  ],
}
