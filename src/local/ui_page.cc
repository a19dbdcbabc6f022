#include "local/view.h"

namespace gpuscale::local {

// The live page: polls /api/history once, then /api/state every second, and draws replicas
// (current, ready, desired), each metric against its target, request rate and TTFT as SVG line
// charts. No external resources, so it works offline.
std::string_view UiPageHtml() {
  static constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gpuscale up</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:16px;background:#fafafa;color:#222}
h1{font-size:18px;margin:0 0 8px} .row{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px;min-width:320px;flex:1}
.card h2{font-size:14px;margin:0 0 6px;color:#555} svg{width:100%;height:180px}
table{border-collapse:collapse;width:100%} td,th{padding:2px 6px;text-align:left;border-bottom:1px solid #eee}
.k{color:#777}.big{font-size:22px;font-weight:600} .legend span{margin-right:10px}
</style></head><body>
<h1>gpuscale up &mdash; <span id="hpa">?</span></h1>
<div class="row">
 <div class="card"><div class="k">replicas (current / desired / ready)</div>
  <div class="big" id="reps">-</div></div>
 <div class="card"><div class="k">metrics (current / target)</div><div id="mets" class="big">-</div></div>
 <div class="card"><div class="k">load</div><div id="load" class="big">-</div></div>
</div>
<div class="row">
 <div class="card"><h2>Replicas</h2><svg id="c_reps" viewBox="0 0 600 180" preserveAspectRatio="none"></svg>
  <div class="legend"><span style="color:#1f77b4">&#9632; current</span><span style="color:#d62728">&#9632; desired</span><span style="color:#2ca02c">&#9632; ready</span></div></div>
 <div class="card"><h2>Metric vs target</h2><svg id="c_met" viewBox="0 0 600 180" preserveAspectRatio="none"></svg>
  <div class="legend" id="metlegend"></div></div>
</div>
<div class="row">
 <div class="card"><h2>Request rate (req/s)</h2><svg id="c_rate" viewBox="0 0 600 180" preserveAspectRatio="none"></svg></div>
 <div class="card"><h2>TTFT p50 / p99 (ms)</h2><svg id="c_ttft" viewBox="0 0 600 180" preserveAspectRatio="none"></svg></div>
</div>
<div class="row"><div class="card"><h2>Pods</h2><table id="pods"></table></div>
<div class="card"><h2>Conditions</h2><div id="conds"></div></div></div>
<script>
const hist=[]; const colors=['#1f77b4','#d62728','#2ca02c','#ff7f0e','#9467bd','#8c564b'];
function line(svg, series, opts){
  const W=600,H=180,P=4; let xs=[],ymax=opts&&opts.ymax||0;
  for(const s of series) for(const p of s.pts){ xs.push(p[0]); if(p[1]!=null&&p[1]>ymax) ymax=p[1]; }
  if(!xs.length){svg.innerHTML='';return;} const x0=Math.min(...xs), x1=Math.max(...xs,x0+1);
  ymax=ymax>0?ymax*1.1:1; let h='';
  for(let g=0; g<=4; g++){const y=H-P-(H-2*P)*g/4; h+=`<line x1="0" x2="${W}" y1="${y}" y2="${y}" stroke="#eee"/>`+
    `<text x="2" y="${y-2}" font-size="10" fill="#999">${(ymax*g/4).toFixed(ymax<10?1:0)}</text>`;}
  series.forEach((s,i)=>{ let d=''; let pen=false;
    for(const p of s.pts){ if(p[1]==null){pen=false;continue;}
      const x=P+(W-2*P)*(p[0]-x0)/(x1-x0), y=H-P-(H-2*P)*p[1]/ymax; d+=(pen?'L':'M')+x.toFixed(1)+' '+y.toFixed(1); pen=true; }
    h+=`<path d="${d}" fill="none" stroke="${s.color||colors[i%colors.length]}" stroke-width="2" ${s.dash?'stroke-dasharray="5 4"':''}/>`; });
  svg.innerHTML=h;
}
function render(){
  if(!hist.length) return; const s=hist[hist.length-1];
  document.getElementById('hpa').textContent=s.hpa+' → Deployment/'+s.deployment;
  document.getElementById('reps').textContent=`${s.current_replicas} / ${s.desired_replicas} / ${s.ready_replicas}  (min ${s.min_replicas}, max ${s.max_replicas})`;
  document.getElementById('mets').innerHTML=s.metrics.map(m=>`${m.name}: ${m.current==null?'&lt;unknown&gt;':(+m.current).toFixed(1)} / ${m.target}`).join('<br>');
  document.getElementById('load').textContent=`${s.load}: ${s.request_rate.toFixed(1)} req/s, ${s.requests_total} requests`;
  const t=p=>p.uptime_s;
  line(document.getElementById('c_reps'),[
    {pts:hist.map(p=>[t(p),p.current_replicas]),color:'#1f77b4'},
    {pts:hist.map(p=>[t(p),p.desired_replicas]),color:'#d62728',dash:true},
    {pts:hist.map(p=>[t(p),p.ready_replicas]),color:'#2ca02c'}],{ymax:s.max_replicas});
  const ms=[]; let leg='';
  s.metrics.forEach((m,i)=>{ const c=colors[(i*2)%colors.length];
    ms.push({pts:hist.map(p=>[t(p),p.metrics[i]?p.metrics[i].current:null]),color:c});
    ms.push({pts:hist.map(p=>[t(p),m.target_value]),color:c,dash:true});
    leg+=`<span style="color:${c}">&#9632; ${m.name} (dashed: target)</span>`; });
  line(document.getElementById('c_met'),ms); document.getElementById('metlegend').innerHTML=leg;
  line(document.getElementById('c_rate'),[{pts:hist.map(p=>[t(p),p.request_rate])}]);
  line(document.getElementById('c_ttft'),[{pts:hist.map(p=>[t(p),p.ttft_p50_s==null?null:p.ttft_p50_s*1000])},
    {pts:hist.map(p=>[t(p),p.ttft_p99_s==null?null:p.ttft_p99_s*1000]),color:'#d62728'}]);
  document.getElementById('pods').innerHTML='<tr><th>pod</th><th>status</th><th>gpu</th><th>in flight</th><th>served</th><th>restarts</th></tr>'+
    s.replicas.map(r=>`<tr><td>${r.pod}</td><td>${r.phase}</td><td>${r.gpu}</td><td>${r.outstanding}</td><td>${r.served}</td><td>${r.restarts}</td></tr>`).join('');
  document.getElementById('conds').innerHTML=s.conditions.map(c=>`<div>${c.replace(/</g,'&lt;')}</div>`).join('');
}
async function poll(){
  try{ const r=await fetch('/api/state'); const s=await r.json();
    if(!hist.length||hist[hist.length-1].time!==s.time){ hist.push(s); if(hist.length>3600) hist.shift(); }
    render(); }catch(e){}
  setTimeout(poll,1000);
}
if(window.GPUSCALE_HISTORY){ hist.push(...window.GPUSCALE_HISTORY); render(); }  // a saved report
else fetch('/api/history').then(r=>r.json()).then(h=>{hist.push(...h); render();}).catch(()=>{}).finally(poll);
</script></body></html>
)HTML";
  return kPage;
}

}  // namespace gpuscale::local
