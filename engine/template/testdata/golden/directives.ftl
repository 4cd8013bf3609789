<#-- Branch directives and whitespace stripping -->
<#assign comma = ",">
bundles: <@loop data=app.app_bundles val="b">${b.os}<@sep>${comma}</@sep></@loop>
<#if user_data.os == "IOS">
  ios: <@jsonmap data=app.app_bundles[1].ios/>
<#elseif user_data.os == "ANDROID">
  android
<#else>
  other
</#if>
body=<@json><@urlencode>${last_attributed_touch_data.~campaign}</@urlencode></@json>
id=${id} ~id=${last_attributed_touch_data.tilde_id} dma=${user_data.geo_dma_code + 0.5}
