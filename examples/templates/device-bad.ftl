<#if user_data.os == "IOS">
  ${user_data.idfa}
<#else>
  ${user_data.aaid?upper_case}-${custom_data.identity - 1}
</#if>
